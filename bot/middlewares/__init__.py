"""Outer middlewares, in the order the dispatcher factory registers them."""

from bot.middlewares.db import DbSessionMiddleware
from bot.middlewares.i18n import UserI18nMiddleware
from bot.middlewares.inflight import InFlightTracker
from bot.middlewares.users import UserMiddleware

__all__ = ["DbSessionMiddleware", "InFlightTracker", "UserI18nMiddleware", "UserMiddleware"]
