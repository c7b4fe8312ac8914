"""Telegram adapter: python-telegram-bot on the process's loop (app), the delivery loop that
turns neutral messages into Telegram messages (delivery, render), handlers and jobs."""
