"""The Telegram-HTML checker: what Telegram documents passes; the rest is refused with a reason."""

from __future__ import annotations

import pytest

from bot.faq.telegram_html import (
    Element,
    TelegramHtmlError,
    check_telegram_html,
    links,
    parse_telegram_html,
)

EVERY_TAG = (
    "<b>b</b><strong>strong</strong><i>i</i><em>em</em><u>u</u><ins>ins</ins><s>s</s>"
    '<strike>strike</strike><del>del</del><span class="tg-spoiler">sp</span>'
    '<tg-spoiler>tsp</tg-spoiler><a href="https://kazpatent.kz/?a=1&amp;b=2">link</a>'
    '<code>code</code><pre>pre</pre><pre><code class="language-python">x = 1</code></pre>'
    "<blockquote>quote</blockquote><blockquote expandable>more</blockquote>"
    '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>'
)


def test_every_supported_tag_and_the_visible_text() -> None:
    assert check_telegram_html(EVERY_TAG) == (
        "bstrongiemuinssstrikedelsptsplinkcodeprex = 1quotemore👍"
    )


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        ("a &lt;b&gt; &amp; &quot;c&quot;", 'a <b> & "c"'),
        ("&#1179;&#x4E9; &#128077;", "қө 👍"),
        ("<B>Жуан</B> <I>көлбеу</I>", "Жуан көлбеу"),
        ("<b>one <i>two <u>three <s>four</s></u></i></b>", "one two three four"),
        ("line one\n\nline two", "line one\n\nline two"),
        ("<a href='https://a.kz'>single quotes</a>", "single quotes"),
    ],
)
def test_entities_case_nesting_and_whitespace(markup: str, text: str) -> None:
    assert check_telegram_html(markup) == text


@pytest.mark.parametrize(
    ("markup", "reason"),
    [
        ("<b>x</i>", "</i>"),
        ("<b><i>x</b></i>", "does not match <i>"),
        ("x</b>", "</b> closes nothing"),
        ("<b>x", "<b> opened on line 1 is never closed"),
        ("a <br> b", "unsupported tag <br>"),
        ("<p>para</p>", "unsupported tag <p>"),
        ("<div>x</div>", "Telegram supports only"),
        ("<b/>", "self-closing"),
        ("1 < 2", 'unescaped "<"'),
        ("2 > 1", 'unescaped ">"'),
        ("R&D", 'unescaped "&"'),
        ("a &nbsp; b", "unsupported entity &nbsp;"),
        ("&#0;", "not a valid character"),
        ("&#xD800;", "not a valid character"),
        ("<a>x</a>", "non-empty href"),
        ("<a href=''>x</a>", "non-empty href"),
        ("<a href='https://a.kz' target='_blank'>x</a>", "does not take the attribute 'target'"),
        ("<a href='https://a.kz' href='https://b.kz'>x</a>", "twice"),
        ("<a href='https://a.kz'><a href='https://b.kz'>x</a></a>", "<a> inside another <a>"),
        ("<span>x</span>", 'only as <span class="tg-spoiler">'),
        ("<b class='x'>x</b>", "does not take the attribute 'class'"),
        ("<code><b>x</b></code>", "no tags are allowed there"),
        ("<pre><b>x</b></pre>", "only <code> is allowed there"),
        ("<code class='language-py'>x</code>", "only on <code> inside <pre>"),
        ("<pre><code class='python'>x</code></pre>", "language-python"),
        ("<blockquote><blockquote>x</blockquote></blockquote>", "inside another <blockquote>"),
        ("<blockquote expandable='yes'>x</blockquote>", "takes no value"),
        ("<tg-emoji>👍</tg-emoji>", "numeric emoji-id"),
        ("<tg-emoji emoji-id='1'></tg-emoji>", "fallback emoji"),
        ("<b>x</b >", None),  # whitespace before '>' is fine
    ],
)
def test_refusals_carry_a_reason(markup: str, reason: str | None) -> None:
    if reason is None:
        check_telegram_html(markup)
        return
    with pytest.raises(TelegramHtmlError) as caught:
        check_telegram_html(markup)
    assert isinstance(caught.value, ValueError)
    assert reason in str(caught.value)


def test_error_points_at_the_line() -> None:
    with pytest.raises(TelegramHtmlError, match=r'line 3, near "'):
        check_telegram_html("one\ntwo\nthree < four")


def test_links_in_document_order_with_entities_decoded() -> None:
    nodes = parse_telegram_html(
        '<b><a href="https://a.kz/?x=1&amp;y=2">a</a></b> <a href="https://b.kz">b</a>'
    )
    assert links(nodes) == ("https://a.kz/?x=1&y=2", "https://b.kz")


def test_tree_keeps_the_kind_of_each_tag() -> None:
    (node,) = parse_telegram_html("<strong>x</strong>")
    assert isinstance(node, Element)
    assert (node.kind, node.tag) == ("bold", "strong")
