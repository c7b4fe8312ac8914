"""The chat adapters: `telegram` (python-telegram-bot) and `wecom` (企业微信 / 政务微信),
both speaking to people through core (core.chat, core.services)."""
