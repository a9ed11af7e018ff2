"""Thin aiogram routers: parse the update, call a service, render through i18n."""
