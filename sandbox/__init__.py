"""A local stand-in for the Telegram Bot API, its test driver and the web chat.

The bot never imports this package.
"""
