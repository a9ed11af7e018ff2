"""The catalogues are complete, real and current: every language, every string."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.config import REPO_ROOT
from bot.faq.telegram_html import TelegramHtmlError, parse_telegram_html
from bot.languages import LANGUAGES

LOCALES = REPO_ROOT / "locales"
HANGUL = re.compile(r"[\uac00-\ud7a3]")
KAZAKH = re.compile(r"[әғқңөұүһіӘҒҚҢӨҰҮҺІ]")
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
TAG = re.compile(r"</?([a-z-]+)")


def load(lang: str) -> Catalog:
    with (LOCALES / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=lang)


def messages(lang: str) -> dict[str, tuple[str, bool]]:
    return {m.id: (m.string, m.fuzzy) for m in load(lang) if m.id}


def source_ids() -> set[str]:
    keywords = {"_": None, "__": None, "gettext": None, "lazy_gettext": None}
    found: set[str] = set()
    for folder in ("bot", "handlers"):
        for _file, _line, message, _comments, _ctx in extract_from_dir(
            REPO_ROOT / folder, keywords=keywords
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


def test_catalogues_are_current_with_the_source() -> None:
    in_source = source_ids()
    assert in_source, "no translatable strings found: the extraction itself is broken"
    for lang in LANGUAGES:
        in_catalogue = set(messages(lang))
        assert in_source - in_catalogue == set(), f"{lang}: strings missing; run `make i18n`"
        assert in_catalogue - in_source == set(), f"{lang}: obsolete strings; run `make i18n`"


def test_the_template_matches_the_source() -> None:
    with (LOCALES / "messages.pot").open("rb") as fh:
        template = {m.id for m in read_po(fh) if m.id}
    assert template == source_ids(), "messages.pot is stale; run `make i18n`"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_string_is_translated(lang: str) -> None:
    for msgid, (text, fuzzy) in messages(lang).items():
        assert text.strip(), f"{lang}: empty translation of {msgid[:50]!r}"
        assert not fuzzy, f"{lang}: fuzzy translation of {msgid[:50]!r}"
        assert PLACEHOLDER.findall(text) == PLACEHOLDER.findall(msgid) or sorted(
            PLACEHOLDER.findall(text)
        ) == sorted(PLACEHOLDER.findall(msgid)), f"{lang}: placeholders differ in {msgid[:50]!r}"
        assert sorted(TAG.findall(text)) == sorted(TAG.findall(msgid)), (
            f"{lang}: HTML tags differ in {msgid[:50]!r}"
        )
        try:
            parse_telegram_html(text.replace("{", "").replace("}", ""))
        except TelegramHtmlError as exc:
            pytest.fail(f"{lang}: {msgid[:50]!r} is not valid Telegram HTML: {exc}")


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != "en"])
def test_translations_are_real(lang: str) -> None:
    for msgid, (text, _fuzzy) in messages(lang).items():
        assert text != msgid, f"{lang}: {msgid[:50]!r} is left in English"
        words = len(PLACEHOLDER.sub("", msgid).split())
        if lang == "ko":
            assert HANGUL.search(text), f"ko: no Hangul in {text[:50]!r}"
        if lang == "kk" and words > 3:
            assert KAZAKH.search(text), f"kk: no Kazakh letter in {text[:50]!r}"


def test_english_catalogue_is_filled_with_the_source_text() -> None:
    for msgid, (text, _fuzzy) in messages("en").items():
        assert text == msgid


def test_compiled_catalogues_exist_for_every_language() -> None:
    for lang in LANGUAGES:
        assert Path(LOCALES / lang / "LC_MESSAGES" / "messages.mo").is_file()
