"""The chat port: what core says to people in chat, independent of the platform.

- `address`: who is reached where (a person's Telegram chat, WeCom userid, or both).
- `message`: the neutral message (lines, actions with the callback keys, a file).
- `push`: an item's push (and its actions) rendered once as a neutral message.
- `port`: the protocol every chat adapter (bot/telegram, bot/wecom) implements.
"""
