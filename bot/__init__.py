"""ipdesk: a Telegram support desk for IP rights holders in Kazakhstan."""
