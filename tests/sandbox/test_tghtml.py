"""The HTML parse mode: entities, UTF-16 offsets, Telegram's error texts, limits."""

from __future__ import annotations

import pytest

from sandbox.errors import ApiError
from sandbox.tghtml import (
    EntityParseError,
    caption_text,
    check_callback_data,
    message_text,
    parse_html,
    utf16_len,
)


def entity(kind: str, offset: int, length: int, **extra: object) -> dict[str, object]:
    return {"type": kind, "offset": offset, "length": length, **extra}


@pytest.mark.parametrize(
    ("tag", "kind"),
    [
        ("b", "bold"),
        ("strong", "bold"),
        ("i", "italic"),
        ("em", "italic"),
        ("u", "underline"),
        ("ins", "underline"),
        ("s", "strikethrough"),
        ("strike", "strikethrough"),
        ("del", "strikethrough"),
        ("tg-spoiler", "spoiler"),
        ("code", "code"),
        ("pre", "pre"),
        ("blockquote", "blockquote"),
    ],
)
def test_simple_tags(tag: str, kind: str) -> None:
    parsed = parse_html(f"a <{tag}>bc</{tag}> d")
    assert parsed.text == "a bc d"
    assert parsed.entities == [entity(kind, 2, 2)]


def test_nested_tags_are_sorted_outer_first() -> None:
    parsed = parse_html("<b>bold <i>both</i></b> <u>u</u>")
    assert parsed.text == "bold both u"
    assert parsed.entities == [
        entity("bold", 0, 9),
        entity("italic", 5, 4),
        entity("underline", 10, 1),
    ]


def test_tags_are_case_insensitive() -> None:
    assert parse_html("<B>x</B>").entities == [entity("bold", 0, 1)]


def test_links_spoiler_span_emoji_and_expandable_quote() -> None:
    parsed = parse_html(
        '<a href="https://example.com/?a=1&amp;b=2">site</a> '
        '<span class="tg-spoiler">s</span> '
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji> '
        "<blockquote expandable>q</blockquote>"
    )
    assert parsed.text == "site s 👍 q"
    assert parsed.entities == [
        entity("text_link", 0, 4, url="https://example.com/?a=1&b=2"),
        entity("spoiler", 5, 1),
        entity("custom_emoji", 7, 2, custom_emoji_id="5368324170671202286"),
        entity("expandable_blockquote", 10, 1),
    ]


def test_user_links_become_text_mentions_of_known_users() -> None:
    users = {42: {"id": 42, "is_bot": False, "first_name": "Aru"}}
    parsed = parse_html(
        '<a href="tg://user?id=42">Aru</a> <a href="tg://user?id=7">ghost</a>',
        resolve_user=users.get,
    )
    assert parsed.entities == [entity("text_mention", 0, 3, user=users[42])]


def test_pre_with_code_language() -> None:
    parsed = parse_html('<pre><code class="language-python">print(1)</code></pre>')
    assert parsed.entities == [entity("pre", 0, 8, language="python")]


def test_formatting_inside_code_is_dropped() -> None:
    assert parse_html("<code>a <b>b</b></code>").entities == [entity("code", 0, 3)]


def test_html_entities_are_decoded() -> None:
    parsed = parse_html("&lt;b&gt; &amp; &quot;q&quot; &#65;&#x1F600;")
    assert parsed.text == '<b> & "q" A😀'


def test_utf16_offsets_with_emoji_and_hangul() -> None:
    parsed = parse_html("😀 안녕 <b>세계 🌍</b> <i>x</i>")
    assert parsed.text == "😀 안녕 세계 🌍 x"
    # 😀 and 🌍 take two UTF-16 code units each; Hangul syllables take one.
    assert parsed.entities == [entity("bold", 6, 5), entity("italic", 12, 1)]
    assert utf16_len(parsed.text) == 13


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("<div>x</div>", 'Unsupported start tag "div" at byte offset 0'),
        ("안 <p>", 'Unsupported start tag "p" at byte offset 4'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("a<b", "Unclosed start tag at byte offset 1"),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("<b>x</b", "Unclosed end tag at byte offset 4"),
        ('<span class="x">s</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        (
            "<a href>x</a>",
            'Expected equal sign in declaration of an attribute of the tag "a" at byte offset 0',
        ),
        ("a &nbsp; b", 'Unsupported HTML entity "&nbsp;" at byte offset 2'),
        ("AT&T", 'Unsupported HTML entity "&T" at byte offset 2'),
        ('<tg-emoji emoji-id="x">e</tg-emoji>', "Invalid custom emoji identifier specified"),
    ],
)
def test_errors_match_telegram(source: str, reason: str) -> None:
    with pytest.raises(EntityParseError) as caught:
        parse_html(source)
    assert caught.value.reason == reason


def test_lenient_mode_keeps_unknown_entities_like_telegram() -> None:
    assert parse_html("a &nbsp; b", strict=False).text == "a &nbsp; b"


def test_a_bare_ampersand_is_text() -> None:
    assert parse_html("Tom & Jerry").text == "Tom & Jerry"


def test_errors_become_bad_requests() -> None:
    with pytest.raises(ApiError) as caught:
        message_text("<div>", parse_mode="HTML", entities=None)
    assert caught.value.code == 400
    assert caught.value.description == (
        'Bad Request: can\'t parse entities: Unsupported start tag "div" at byte offset 0'
    )


def test_without_parse_mode_the_text_is_literal() -> None:
    formatted = message_text("<b>not bold</b>", parse_mode=None, entities=None)
    assert formatted.text == "<b>not bold</b>"
    assert formatted.entities == []


def test_text_is_trimmed_and_commands_detected() -> None:
    formatted = message_text("\n  <b>hi</b> /help  \n", parse_mode="HTML", entities=None)
    assert formatted.text == "hi /help"
    assert formatted.entities == [entity("bold", 0, 2), entity("bot_command", 3, 5)]


def test_text_length_counts_after_parsing() -> None:
    inside = "<b>" + "x" * 4096 + "</b>"
    assert len(message_text(inside, parse_mode="HTML", entities=None).text) == 4096
    with pytest.raises(ApiError, match="Bad Request: message is too long"):
        message_text("x" * 4097, parse_mode=None, entities=None)
    with pytest.raises(ApiError, match="Bad Request: message is too long"):
        message_text("😀" * 2049, parse_mode=None, entities=None)  # 4098 UTF-16 units


def test_empty_text_is_refused() -> None:
    for text in ("", "   \n", "<b> </b>"):
        with pytest.raises(ApiError, match="Bad Request: message text is empty"):
            message_text(text, parse_mode="HTML", entities=None)


def test_caption_limit_counts_after_parsing() -> None:
    assert caption_text("<i>" + "c" * 1024 + "</i>", parse_mode="HTML", entities=None)
    with pytest.raises(ApiError, match="Bad Request: message caption is too long"):
        caption_text("c" * 1025, parse_mode=None, entities=None)


def test_callback_data_is_at_most_64_bytes() -> None:
    check_callback_data("x" * 64)
    for data in ("x" * 65, "й" * 33, ""):
        with pytest.raises(ApiError, match="Bad Request: BUTTON_DATA_INVALID"):
            check_callback_data(data)


def test_explicit_entities_must_fit_the_text() -> None:
    with pytest.raises(ApiError, match="can't parse entities"):
        message_text("abc", parse_mode=None, entities=[entity("bold", 2, 5)])
