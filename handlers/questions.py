"""Typed questions: match them against the FAQ and answer in the language they were written in."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.api_session import SendMessageForEffect
from bot.faq.content import FaqEntry
from bot.faq.match import FaqMatcher, MatchResult, Outcome
from bot.languages import LANGUAGES
from bot.services.faq import FaqCatalogue, FaqQueryLog
from bot.services.users import UserService
from db.models import User
from handlers import faq_views as views
from handlers.callbacks import (
    FaqEntryCb,
    FaqNavCb,
    FaqStaffCb,
    MenuAction,
    MenuCb,
    SwitchLanguageCb,
)
from handlers.filters import OutsideDialogs
from handlers.keyboards import inline_rows, memo_markup
from handlers.screens import replace_markup

# Only the start of a very long message is matched: questions are short, pastes are not.
MAX_MATCHED_CHARS = 500


def create_router() -> Router:
    router = Router(name="questions")
    # Dialogs (their states) and open tickets take a person's text first.
    router.message.filter(F.chat.type == ChatType.PRIVATE, OutsideDialogs())
    router.callback_query.filter(F.message.chat.type == ChatType.PRIVATE)
    router.message.register(question, F.text & ~F.text.startswith("/"))
    router.callback_query.register(switch_language, SwitchLanguageCb.filter(F.code.in_(LANGUAGES)))
    return router


async def question(
    message: Message,
    bot: Bot,
    user: User,
    faq: FaqCatalogue,
    faq_matcher: FaqMatcher,
    faq_log: FaqQueryLog,
    session: AsyncSession,
    i18n: I18n,
) -> None:
    text = message.text or ""
    result = faq_matcher.match(text[:MAX_MATCHED_CHARS], user.language)
    # Answer in the language the question was written in.
    with i18n.use_locale(result.lang):
        reply, markup = render(result, faq, switch_from=user.language)
    # Sent for its effect: the answer's echo is not built into a Message (bot/api_session.py).
    answer = SendMessageForEffect.answering(message, reply, markup)
    # The question is logged while its answer goes out; both are done before the update is.
    await faq_log.add(
        session,
        user.id,
        text,
        result.lang,
        result.outcome,
        result.id,
        result.score,
        meanwhile=lambda: bot(answer),
    )


def render(
    result: MatchResult, faq: FaqCatalogue, *, switch_from: str
) -> tuple[str, InlineKeyboardMarkup]:
    lang = result.lang
    entry = faq.find(result.id) if result.id else None
    answer = result.outcome is Outcome.ANSWER and entry is not None
    if answer:
        assert entry is not None
        text = views.entry_text(entry, lang)
    elif result.outcome is Outcome.GREETING:
        text = _(
            "👋 Glad to help. Type your question about protecting intellectual property in "
            "Kazakhstan, or choose a topic below."
        )
    elif result.outcome is Outcome.AMBIGUOUS:
        text = _("I found several answers that may fit. Which one do you mean?")
    else:
        text = _(
            "I'm not sure I understood. Try putting the question differently, choose a topic, "
            "or ask our staff."
        )
    # Depends only on the content, the language and the choices: built once (memo_markup).
    choices = result.top if result.outcome is Outcome.AMBIGUOUS else ()
    markup = memo_markup(
        (
            "question",
            result.outcome,
            entry.id if answer and entry else None,
            choices,
            lang,
            switch_from == lang,
        ),
        (faq.base,),
        lambda: _with_switch(_markup(result, entry if answer else None, faq), lang, switch_from),
    )
    return text, markup


def _markup(result: MatchResult, entry: FaqEntry | None, faq: FaqCatalogue) -> InlineKeyboardMarkup:
    lang = result.lang
    if entry is not None:
        return views.entry_keyboard(entry, faq.related(entry), faq.page_of(entry), lang)
    topics = (_("📚 Questions and answers"), FaqNavCb())
    staff = (_("💬 Ask our staff"), FaqStaffCb())
    if result.outcome is Outcome.GREETING:
        return inline_rows([(_("📚 Questions and answers"), MenuCb(action=MenuAction.FAQ))])
    if result.outcome is Outcome.AMBIGUOUS:
        candidates = filter(None, (faq.find(i) for i in result.top))
        return inline_rows(
            *([(c.text(lang).title, FaqEntryCb(id=c.id))] for c in candidates), [staff], [topics]
        )
    return inline_rows([topics], [staff])


def _with_switch(markup: InlineKeyboardMarkup, lang: str, current: str) -> InlineKeyboardMarkup:
    """Offer to keep talking in the question's language when it is not the chosen one."""
    if lang == current:
        return markup
    switch = inline_rows([(_("🌐 Continue in English"), SwitchLanguageCb(code=lang))])
    return InlineKeyboardMarkup(inline_keyboard=[*markup.inline_keyboard, *switch.inline_keyboard])


async def switch_language(
    query: CallbackQuery,
    callback_data: SwitchLanguageCb,
    user: User,
    session: AsyncSession,
    i18n: I18n,
) -> None:
    await UserService(session).set_language(user, callback_data.code)
    with i18n.use_locale(callback_data.code):
        await query.answer(_("I will speak English with you now."))
    # The answer stays; only the offer goes.
    if isinstance(query.message, Message) and query.message.reply_markup is not None:
        offer = f"{SwitchLanguageCb.__prefix__}:"
        rows = [
            row
            for row in query.message.reply_markup.inline_keyboard
            if not any((b.callback_data or "").startswith(offer) for b in row)
        ]
        await replace_markup(query.message, InlineKeyboardMarkup(inline_keyboard=rows))
