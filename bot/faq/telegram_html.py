"""A strict checker for the HTML subset Telegram accepts with `parse_mode=HTML`.

`parse_telegram_html` turns markup into a small tree (or raises `TelegramHtmlError`, a
`ValueError`, with the reason); `visible_text` gives what the user sees, so lengths are counted
after parsing; `links` lists every `href`. `check_telegram_html` does both steps at once.

Stricter than Telegram where Telegram's documentation says "must": every `<`, `>` and `&` that
is not part of a tag or entity has to be escaped, and only the documented tags, attributes and
entities are accepted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "Element",
    "Node",
    "TelegramHtmlError",
    "Text",
    "check_telegram_html",
    "links",
    "parse_telegram_html",
    "visible_text",
]


class TelegramHtmlError(ValueError):
    """Markup Telegram would refuse (or that we refuse on its documentation's word)."""


@dataclass(frozen=True, slots=True)
class Text:
    text: str  # entities already decoded


@dataclass(frozen=True, slots=True)
class Element:
    kind: str  # bold, italic, underline, strike, spoiler, link, code, pre, blockquote, emoji
    tag: str  # the tag as written, lower-cased
    attrs: tuple[tuple[str, str | None], ...]
    children: tuple[Node, ...]

    def attr(self, name: str) -> str | None:
        return next((value for key, value in self.attrs if key == name), None)


Node = Text | Element

# Tag -> kind. `span` is a spoiler only with class="tg-spoiler" (checked below).
_KINDS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strike",
    "strike": "strike",
    "del": "strike",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "emoji",
}
_SUPPORTED = ", ".join(f"<{tag}>" for tag in _KINDS)
_HINTS = {
    "br": "Telegram has no line-break tag: write a new line instead",
    "p": "Telegram has no paragraphs: separate them with an empty line",
    "ul": "Telegram has no lists: write lines starting with '•' or '1.'",
    "ol": "Telegram has no lists: write lines starting with '•' or '1.'",
    "li": "Telegram has no lists: write lines starting with '•' or '1.'",
}

_SPECIAL = re.compile(r"[<>&]")
_TAG = re.compile(
    r"<(/?)([A-Za-z][A-Za-z0-9-]*)"
    r"((?:\s+[^\s=>/\"'<]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'<>=`]+))?)*)"
    r"\s*(/?)>"
)
_ATTR = re.compile(r"([^\s=>/\"'<]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'<>=`]+)))?")
_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,8})|#[xX]([0-9a-fA-F]{1,8}));")
_NAMED_LIKE = re.compile(r"&#?[A-Za-z0-9]+;")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_EMOJI_ID = re.compile(r"[0-9]+")
_LANGUAGE_CLASS = re.compile(r"language-[A-Za-z0-9_+#.-]+")


@dataclass(slots=True)
class _Open:
    """A tag being parsed: where it started and the children collected so far."""

    kind: str
    tag: str
    attrs: tuple[tuple[str, str | None], ...]
    line: int
    children: list[Node]


def _line_of(markup: str, pos: int) -> int:
    return markup.count("\n", 0, pos) + 1


def _near(markup: str, pos: int) -> str:
    snippet = markup[max(0, pos - 15) : pos + 15].replace("\n", " ")
    return f'line {_line_of(markup, pos)}, near "{snippet}"'


def _decode_entity(markup: str, pos: int) -> tuple[str, int]:
    """The character an entity at `pos` stands for and where the entity ends."""
    match = _ENTITY.match(markup, pos)
    if match is None:
        other = _NAMED_LIKE.match(markup, pos)
        if other is not None:
            raise TelegramHtmlError(
                f"unsupported entity {other.group()} ({_near(markup, pos)}): only &lt; &gt; "
                "&amp; &quot; and numeric entities are allowed"
            )
        raise TelegramHtmlError(f'unescaped "&" ({_near(markup, pos)}): write &amp;')
    named, decimal, hexadecimal = match.groups()
    if named:
        return _NAMED[named], match.end()
    code = int(decimal) if decimal else int(hexadecimal, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        raise TelegramHtmlError(f"entity {match.group()} is not a valid character")
    return chr(code), match.end()


def _decode(value: str) -> str:
    """Decode the entities inside an attribute value."""
    parts: list[str] = []
    pos = 0
    while (amp := value.find("&", pos)) != -1:
        parts.append(value[pos:amp])
        char, pos = _decode_entity(value, amp)
        parts.append(char)
    parts.append(value[pos:])
    return "".join(parts)


def _parse_attrs(raw: str, tag: str) -> tuple[tuple[str, str | None], ...]:
    attrs: list[tuple[str, str | None]] = []
    for match in _ATTR.finditer(raw):
        name = match.group(1).lower()
        if any(name == seen for seen, _ in attrs):
            raise TelegramHtmlError(f"<{tag}> has the attribute {name!r} twice")
        value = next((v for v in match.group(2, 3, 4) if v is not None), None)
        attrs.append((name, None if value is None else _decode(value)))
    return tuple(attrs)


def _check_attrs(tag: str, attrs: tuple[tuple[str, str | None], ...], parent: str | None) -> None:
    """Only the attributes Telegram documents, with the values it documents."""
    given = dict(attrs)
    allowed: set[str] = set()
    if tag == "a":
        allowed = {"href"}
        if not (given.get("href") or "").strip():
            raise TelegramHtmlError("<a> needs a non-empty href")
    elif tag == "span":
        allowed = {"class"}
        if given.get("class") != "tg-spoiler":
            raise TelegramHtmlError('<span> is supported only as <span class="tg-spoiler">')
    elif tag == "blockquote":
        allowed = {"expandable"}
        if given.get("expandable"):
            raise TelegramHtmlError("<blockquote expandable> takes no value")
    elif tag == "tg-emoji":
        allowed = {"emoji-id"}
        if not _EMOJI_ID.fullmatch(given.get("emoji-id") or ""):
            raise TelegramHtmlError("<tg-emoji> needs a numeric emoji-id")
    elif tag == "code" and "class" in given:
        allowed = {"class"}
        if parent != "pre":
            raise TelegramHtmlError("a language class is allowed only on <code> inside <pre>")
        if not _LANGUAGE_CLASS.fullmatch(given["class"] or ""):
            raise TelegramHtmlError('<code class> must look like "language-python"')
    extra = sorted(set(given) - allowed)
    if extra:
        raise TelegramHtmlError(f"<{tag}> does not take the attribute {extra[0]!r}")


def _check_nesting(kind: str, tag: str, stack: list[_Open]) -> None:
    if not stack:
        return
    parent = stack[-1]
    if parent.kind == "code" or parent.kind == "emoji":
        raise TelegramHtmlError(f"<{tag}> inside <{parent.tag}>: no tags are allowed there")
    if parent.kind == "pre" and kind != "code":
        raise TelegramHtmlError(f"<{tag}> inside <pre>: only <code> is allowed there")
    if parent.kind == "pre" and parent.children:
        raise TelegramHtmlError("<pre> may hold one <code> and nothing else")
    if kind in {"link", "blockquote"} and any(o.kind == kind for o in stack):
        raise TelegramHtmlError(f"<{tag}> inside another <{tag}>")


def _open_tag(markup: str, match: re.Match[str], stack: list[_Open]) -> _Open:
    """Validate an opening tag against what Telegram supports where it stands."""
    tag = match.group(2).lower()
    kind = _KINDS.get(tag)
    if kind is None:
        hint = _HINTS.get(tag, f"Telegram supports only {_SUPPORTED}")
        raise TelegramHtmlError(f"unsupported tag <{tag}> ({_near(markup, match.start())}): {hint}")
    if match.group(4):
        raise TelegramHtmlError(f"self-closing <{tag}/> is not supported")
    attrs = _parse_attrs(match.group(3), tag)
    _check_nesting(kind, tag, stack)
    _check_attrs(tag, attrs, stack[-1].tag if stack else None)
    return _Open(kind, tag, attrs, _line_of(markup, match.start()), [])


def _close_tag(markup: str, match: re.Match[str], stack: list[_Open]) -> Element:
    tag = match.group(2).lower()
    if match.group(3).strip() or match.group(4):
        raise TelegramHtmlError(f"closing tag </{tag}> has attributes")
    if not stack:
        raise TelegramHtmlError(f"</{tag}> closes nothing ({_near(markup, match.start())})")
    top = stack.pop()
    if top.tag != tag:
        raise TelegramHtmlError(
            f"</{tag}> ({_near(markup, match.start())}) does not match <{top.tag}> "
            f"opened on line {top.line}"
        )
    if top.kind == "emoji" and not visible_text(top.children).strip():
        raise TelegramHtmlError("<tg-emoji> needs the fallback emoji as its content")
    return Element(top.kind, top.tag, top.attrs, tuple(top.children))


def _add_text(out: list[Node], text: str) -> None:
    if not text:
        return
    if out and isinstance(out[-1], Text):
        out[-1] = Text(out[-1].text + text)
    else:
        out.append(Text(text))


def parse_telegram_html(markup: str) -> tuple[Node, ...]:
    """Parse `markup` as Telegram would, refusing anything it documents as invalid."""
    root: list[Node] = []
    stack: list[_Open] = []
    pos = 0
    while (special := _SPECIAL.search(markup, pos)) is not None:
        at = special.start()
        children = stack[-1].children if stack else root
        _add_text(children, markup[pos:at])
        char = special.group()
        if char == "&":
            decoded, pos = _decode_entity(markup, at)
            _add_text(children, decoded)
            continue
        if char == ">":
            raise TelegramHtmlError(f'unescaped ">" ({_near(markup, at)}): write &gt;')
        tag = _TAG.match(markup, at)
        if tag is None:
            raise TelegramHtmlError(f'unescaped "<" ({_near(markup, at)}): write &lt;')
        pos = tag.end()
        if tag.group(1):
            element = _close_tag(markup, tag, stack)
            (stack[-1].children if stack else root).append(element)
        else:
            stack.append(_open_tag(markup, tag, stack))
    _add_text(stack[-1].children if stack else root, markup[pos:])
    if stack:
        raise TelegramHtmlError(
            f"<{stack[-1].tag}> opened on line {stack[-1].line} is never closed"
        )
    return tuple(root)


def visible_text(nodes: tuple[Node, ...] | list[Node]) -> str:
    """The text the user sees: tags removed, entities decoded."""
    return "".join(n.text if isinstance(n, Text) else visible_text(n.children) for n in nodes)


def links(nodes: tuple[Node, ...] | list[Node]) -> tuple[str, ...]:
    """Every `href`, in document order."""
    found: list[str] = []
    for node in nodes:
        if isinstance(node, Element):
            href = node.attr("href") if node.kind == "link" else None
            if href is not None:
                found.append(href)
            found.extend(links(node.children))
    return tuple(found)


def check_telegram_html(markup: str) -> str:
    """Validate `markup`; return its visible text. Raises `TelegramHtmlError` (a ValueError)."""
    return visible_text(parse_telegram_html(markup))
