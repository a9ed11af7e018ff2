"""Review pages for lawyers: one Markdown page per language, readable without the YAML."""

from __future__ import annotations

from pathlib import Path

from bot.faq.export import answer_to_markdown, export_markdown

from .factory import documents, load


def test_answer_markup_becomes_markdown() -> None:
    markdown = answer_to_markdown(
        '<b>Шаги:</b>\n1. Подать <a href="https://kazpatent.kz/ru">заявку</a> *срочно*\n'
        "<i> курсив </i>и <s>старое</s>, <code>K990000409_</code>\n"
        "<blockquote>Цитата\nвторая</blockquote>\n"
        "<pre>код</pre>\n# не заголовок, 2 &lt; 3"
    )
    assert markdown == (
        "**Шаги:**  \n"
        "1. Подать [заявку](https://kazpatent.kz/ru) \\*срочно\\*  \n"
        " *курсив* и ~~старое~~, `K990000409_`  \n\n"
        "> Цитата  \n> вторая\n\n"
        "```\nкод\n```\n\n"
        "\\# не заголовок, 2 \\< 3"
    )


def test_bare_link_is_an_autolink() -> None:
    assert answer_to_markdown('<a href="https://adilet.zan.kz">https://adilet.zan.kz</a>') == (
        "<https://adilet.zan.kz>"
    )


def test_one_page_per_language_grouped_by_category(tmp_path: Path) -> None:
    docs = documents()
    docs["trademarks"]["entries"][1]["related"] = ["about-niip"]
    base = load(tmp_path / "content", docs)
    written = export_markdown(base, tmp_path / "out")
    assert [p.name for p in written] == ["faq-kk.md", "faq-ru.md", "faq-ko.md", "faq-en.md"]
    page = (tmp_path / "out" / "faq-ru.md").read_text(encoding="utf-8")
    # Categories in menu order, each with its label, entries under it.
    assert page.index("## Основы") < page.index("## Товарные знаки")
    assert page.index("## Товарные знаки") < page.index("### Что нужно знать про trademark fees?")
    fees = page[page.index('<a id="trademark-fees">') :]
    assert "`trademark-fees` · Проверено: 2026-11-20" in fees
    assert (
        "**Коротко:** trademark fees — заявка подаётся через [НИИС](https://kazpatent.kz/ru)."
        in fees
    )
    assert "- <https://adilet.zan.kz/rus/docs/K990000409_>" in fees
    assert "**Связанные вопросы:** [Что нужно знать про about niip?](#about-niip)" in fees
    assert "<b>" not in page
    ko = (tmp_path / "out" / "faq-ko.md").read_text(encoding="utf-8")
    assert "## 상표" in ko and "출처" in ko
