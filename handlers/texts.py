"""Longer screens, composed from catalogue strings. Every user-supplied value is escaped."""

from __future__ import annotations

from html import escape

from aiogram.utils.i18n import gettext as _

from bot.features import Features
from bot.profile import user_commands


def welcome(name: str) -> str:
    return _(
        "Hello, {name}!\n\n"
        "I am <b>ipdesk</b>, the support bot for intellectual property rights holders in "
        "Kazakhstan, working on behalf of the Committee on Intellectual Property Rights of the "
        "Ministry of Justice.\n\n"
        "I explain how to protect trademarks, patents, industrial designs and copyright in "
        "Kazakhstan, how the customs register works and what to do about counterfeits — in "
        "Kazakh, Russian, Korean and English.\n\n"
        "Choose what you need below."
    ).format(name=escape(name or "👋"))


def help_text(features: Features | None = None) -> str:
    """The commands, as the bot's menu lists them (one list: they cannot drift apart)."""
    title = _("What I can do")
    listed = user_commands(features or Features())
    commands = "\n".join(f"/{c.command} — {c.description}" for c in listed)
    disclaimer = _(
        "I give general information, not legal advice. Official decisions are taken by the "
        "Committee on Intellectual Property Rights and the National Institute of Intellectual "
        "Property (Kazpatent)."
    )
    return f"<b>{title}</b>\n\n{commands}\n\n{disclaimer}"


def privacy_text() -> str:
    return _(
        "<b>Your data and privacy</b>\n\n"
        "<b>What I keep:</b> your Telegram id, name and username, the language you chose, your "
        "settings, and when you last wrote. If you file a complaint: the answers you give, the "
        "files you send and your messages with our staff.\n\n"
        "<b>Why:</b> only to answer your questions and handle your complaints. No advertising, and "
        "your data is never sold or passed to third parties for marketing.\n\n"
        "<b>How long:</b> personal data of closed complaints is deleted after 3 years, unfinished "
        "complaint drafts after 30 days.\n\n"
        "<b>Your copy:</b> send /mydata and I will send you everything I keep about you as a "
        "file.\n\n"
        "<b>Removing it:</b> send /deleteme and I will delete your personal data. Complaints "
        "you filed stay with our staff as cases, without your name or contact details.\n\n"
        "Please do not send trade secrets or unpublished inventions in this chat."
    )
