"""Telegram adapter: python-telegram-bot on the process's loop (app), the delivery loop that
turns neutral messages into Telegram messages (delivery, render) and the handlers; the
scheduled jobs are jiyao.jobs, run whichever adapters are enabled."""
