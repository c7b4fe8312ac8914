"""Builders of messages and documents for the reading tests."""
