"""Review pages for lawyers: one Markdown file per language, no YAML to read.

Each page lists the entries category by category with the question, the answer as readable
Markdown, the sources, the review date and the related questions.
"""

from __future__ import annotations

import re
from pathlib import Path

from bot.faq.content import LANGUAGES, MAX_ANSWER, FaqBase, FaqEntry
from bot.faq.telegram_html import Element, Node, Text, parse_telegram_html, visible_text

__all__ = ["answer_to_markdown", "export_markdown", "render_page"]

LANGUAGE_NAMES = {"kk": "Қазақша", "ru": "Русский", "ko": "한국어", "en": "English"}
# The page's few fixed words, per language: (title, entries, reviewed, sources, related, contents)
_LABELS = {
    "kk": (
        "Жиі қойылатын сұрақтар — заңгердің тексеруіне",
        "сұрақ",
        "Тексерілген күні",
        "Дереккөздер",
        "Байланысты сұрақтар",
        "Мазмұны",
    ),
    "ru": (
        "Частые вопросы — на проверку юристу",
        "вопросов",
        "Проверено",
        "Источники",
        "Связанные вопросы",
        "Содержание",
    ),
    "ko": ("자주 묻는 질문 — 법률 검토용", "개 질문", "검토일", "출처", "관련 질문", "목차"),
    "en": (
        "FAQ — for legal review",
        "questions",
        "Reviewed",
        "Sources",
        "Related questions",
        "Contents",
    ),
}
_ESCAPE = re.compile(r"([\\`*_\[\]<]|~~)")
_LINE_START = re.compile(r"^([ \t]*)([#>])", re.MULTILINE)  # a heading or quote by accident
_LINE_BREAK = re.compile(r"(?<!\n)\n(?!\n)")
_BLANK_LINE = re.compile(r"^[ \t]+$", re.MULTILINE)
_EDGE_SPACE = re.compile(r"^(\s*)(.*?)(\s*)$", re.DOTALL)


def _escape(text: str) -> str:
    """Markdown-escape plain text; a single new line stays a line break (as in Telegram)."""
    escaped = _ESCAPE.sub(lambda m: "".join("\\" + c for c in m.group()), text)
    escaped = _LINE_START.sub(r"\1\\\2", escaped)
    return _LINE_BREAK.sub("  \n", escaped)


def _wrap(inner: str, mark: str, end: str | None = None) -> str:
    """`**x**` with the spaces moved outside, since Markdown ignores `** x **`."""
    lead, core, trail = _EDGE_SPACE.match(inner).groups()  # type: ignore[union-attr]
    return f"{lead}{mark}{core}{mark if end is None else end}{trail}" if core else inner


def _element(node: Element) -> str:
    inner = _render(node.children)
    match node.kind:
        case "bold":
            return _wrap(inner, "**")
        case "italic":
            return _wrap(inner, "*")
        case "underline":
            return _wrap(inner, "<u>", "</u>")
        case "strike":
            return _wrap(inner, "~~")
        case "link":
            href = node.attr("href") or ""
            return (
                f"<{href}>" if visible_text(node.children).strip() == href else f"[{inner}]({href})"
            )
        case "code":
            code = visible_text(node.children)
            fence = "``" if "`" in code else "`"
            return f"{fence}{code}{fence}"
        case "pre":
            block = visible_text(node.children).strip("\n")
            return f"\n\n```\n{block}\n```\n\n"
        case "blockquote":
            lines = inner.strip("\n").split("\n")
            return (
                "\n\n" + "\n".join(f"> {line}" if line.strip() else ">" for line in lines) + "\n\n"
            )
        case _:  # spoiler, custom emoji: their text as it is
            return inner


def _render(nodes: tuple[Node, ...]) -> str:
    return "".join(_escape(n.text) if isinstance(n, Text) else _element(n) for n in nodes)


def answer_to_markdown(answer: str) -> str:
    """A validated Telegram-HTML answer as Markdown."""
    markdown = _BLANK_LINE.sub("", _render(parse_telegram_html(answer)))
    return re.sub(r"\n{3,}", "\n\n", markdown).strip()


def _entry_section(entry: FaqEntry, lang: str, base: FaqBase) -> list[str]:
    _, _, reviewed, sources, related, _ = _LABELS[lang]
    text = entry.text(lang)
    size = f"{text.answer_chars}/{MAX_ANSWER}"
    lines = [
        f'<a id="{entry.id}"></a>',
        f"### {_escape(text.title)}",
        "",
        f"`{entry.id}` · {reviewed}: {entry.reviewed.isoformat()} · {size}",
        "",
        answer_to_markdown(text.answer),
        "",
        f"**{sources}:**",
        "",
        *(f"- <{url}>" for url in entry.sources),
        "",
    ]
    if entry.related:
        links = ", ".join(
            f"[{_escape(base.entry(other).text(lang).title)}](#{other})" for other in entry.related
        )
        lines += [f"**{related}:** {links}", ""]
    return lines


def render_page(base: FaqBase, lang: str) -> str:
    """The whole review page for one language."""
    title, questions, _, _, _, contents = _LABELS[lang]
    lines = [f"# {title} ({LANGUAGE_NAMES[lang]}, {lang})", "", f"{len(base)} {questions}.", ""]
    lines += [f"## {contents}", ""]
    lines += [
        f"- [{_escape(c.title(lang))}](#category-{c.id}) — {len(c.entries)}"
        for c in base.categories
    ]
    lines.append("")
    for category in base.categories:
        lines += [
            f'<a id="category-{category.id}"></a>',
            "",
            f"## {_escape(category.title(lang))}",
            "",
        ]
        for entry in category.entries:
            lines += _entry_section(entry, lang, base)
    return "\n".join(lines).rstrip() + "\n"


def export_markdown(base: FaqBase, out_dir: Path) -> list[Path]:
    """Write `faq-<lang>.md` for every language into `out_dir`; return the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for lang in LANGUAGES:
        path = out_dir / f"faq-{lang}.md"
        path.write_text(render_page(base, lang), encoding="utf-8")
        written.append(path)
    return written
