"""Callback data carried by inline buttons. Nothing is ever matched by a button's text."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

# A database id as a button carries it. Forged data may hold any number: one the database
# cannot store must fail the filter (a stale button), not the query.
RowId = Annotated[int, Field(ge=1, le=2**31 - 1)]
# The same, where 0 means "none" (a button about no particular row).
RowIdOrNone = Annotated[int, Field(ge=0, le=2**31 - 1)]


class MenuAction(StrEnum):
    HOME = "home"
    FAQ = "faq"
    COMPLAINT = "complaint"
    HELP = "help"
    PRIVACY = "privacy"
    LANGUAGE = "lang"


class MenuCb(CallbackData, prefix="m"):
    action: MenuAction


class LanguageCb(CallbackData, prefix="l"):
    code: str


class DeleteMeCb(CallbackData, prefix="del"):
    confirm: bool


class FaqNavCb(CallbackData, prefix="fq"):
    """The FAQ menu: no category = the list of categories; else one page of a category."""

    category: str = ""
    page: int = 0


class FaqEntryCb(CallbackData, prefix="fa"):
    id: str


class FaqVoteCb(CallbackData, prefix="fv"):
    id: str
    helpful: bool


class FaqStaffCb(CallbackData, prefix="fs"):
    """ "Ask our staff": from under an entry's answer (its id), or with no topic ("")."""

    id: str = ""


class SwitchLanguageCb(CallbackData, prefix="sl"):
    """ "Continue in Korean": offered when a question is written in another language."""

    code: str


class ComplaintCb(CallbackData, prefix="c"):
    """The intake dialog's buttons: a choice (kind, right), skip, done, consent, confirm, edit."""

    action: str  # choose | skip | consent | confirm | edit | field | cancel
    step: str = ""
    value: str = ""


class TicketCb(CallbackData, prefix="t"):
    """The person's side of a ticket: /mytickets and the receipt."""

    action: str  # open | add | close | list | leave
    id: RowIdOrNone = 0


class StaffTicketCb(CallbackData, prefix="st"):
    """The buttons under a ticket's card in the staff chat."""

    action: str  # take | resolve | close
    id: RowId


class CannedCb(CallbackData, prefix="cn"):
    """A saved reply chosen in a ticket's topic, to be sent to that ticket's user."""

    id: RowId
    ticket: RowId


class RateCb(CallbackData, prefix="rt"):
    """The user's rating of a resolved ticket (1-5); 0 skips the comment after it."""

    id: RowIdOrNone
    score: int
