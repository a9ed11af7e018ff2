import pytest

from bot.deeplink import DeepLink, parse_start_payload
from bot.languages import pick_language


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (None, None),
        ("", None),
        ("faq-trademark-fees", DeepLink("faq", "trademark-fees", "faq-trademark-fees")),
        ("campaign_2026", DeepLink("", "campaign_2026", "campaign_2026")),
        ("faq-", DeepLink("", "faq-", "faq-")),
        ("<script>", None),
        ("x" * 65, None),
    ],
)
def test_start_payloads(args: str | None, expected: DeepLink | None) -> None:
    assert parse_start_payload(args) == expected


@pytest.mark.parametrize(
    ("code", "lang"),
    [("ko", "ko"), ("ru-RU", "ru"), ("kk", "kk"), ("en-GB", "en"), ("de", "en"), (None, "en")],
)
def test_language_from_telegram_code(code: str | None, lang: str) -> None:
    assert pick_language(code) == lang
