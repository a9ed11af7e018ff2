"""Small helpers shared by the tests."""

from __future__ import annotations

import re
from html import unescape

from aiogram.utils.i18n import I18n

_TAG = re.compile(r"<[^>]+>")


def visible(html: str) -> str:
    """What Telegram shows for an HTML text: tags dropped, entities decoded."""
    return unescape(_TAG.sub("", html))


def render(i18n: I18n, locale: str, fn, *args: object) -> str:
    """A screen from handlers.texts (or any gettext call) as it reads in `locale`, visible text."""
    with i18n.context(), i18n.use_locale(locale):
        return visible(fn(*args))


def tr(i18n: I18n, locale: str, msgid: str) -> str:
    return i18n.gettext(msgid, locale=locale)
