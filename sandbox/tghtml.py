"""Telegram's text formatting, re-implemented: HTML parse mode, entity checks, limits.

The parser follows the algorithm of TDLib's `parse_html` (the code behind the Bot API): the same
supported tags, the same attribute rules and the same error texts with UTF-8 byte offsets. One
deliberate difference makes it stricter: an unknown named entity such as `&nbsp;` (which
Telegram would show literally) is an error, because a bot that emits it almost always forgot to
escape something. Entity offsets and lengths are in UTF-16 code units, as in the Bot API.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.errors import bad_request

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64

Entity = dict[str, Any]
UserResolver = Callable[[int], dict[str, Any] | None]

_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
}
_SUPPORTED_TAGS = frozenset({*_SIMPLE_TAGS, "a", "code", "pre", "span", "tg-emoji", "blockquote"})
_SPACES = frozenset(" \t\r\n\v\0")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_LINK_SCHEMES = ("http://", "https://", "tg://", "ton://", "tonsite://")
_USER_LINK_RE = re.compile(r"tg://user\?id=(\d+)$", re.IGNORECASE)

# Bot API nesting rules: bold, italic, underline, strikethrough and spoiler nest anywhere except
# inside code/pre; blockquotes do not nest; all other entities cannot contain each other.
_STYLE_TYPES = frozenset({"bold", "italic", "underline", "strikethrough", "spoiler"})
_QUOTE_TYPES = frozenset({"blockquote", "expandable_blockquote"})
_CODE_TYPES = frozenset({"code", "pre"})

# Entities Telegram detects by itself in any message text (a practical subset).
_AUTO_PATTERNS = (
    (
        "bot_command",
        re.compile(r"(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>])"),
    ),
    ("url", re.compile(r"(?<![\w/])https?://[^\s<>\"]+[^\s<>\".,;:!?)\]'»]")),
    ("email", re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")),
    ("mention", re.compile(r"(?<![\w@])@[A-Za-z][A-Za-z0-9_]{3,31}(?![\w@])")),
    ("hashtag", re.compile(r"(?<![\w#])#(?!\d+(?!\w))\w+")),
)
_NO_AUTO_INSIDE = frozenset({"code", "pre", "text_link", "text_mention", "custom_emoji"})


class EntityParseError(ValueError):
    """The text is not valid Telegram HTML; `reason` is Telegram's wording."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class FormattedText:
    text: str
    entities: list[Entity] = field(default_factory=list)


_MARKUP = re.compile("[&<]")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


# -- HTML --------------------------------------------------------------------------------------


@dataclass
class _OpenTag:
    name: str
    argument: str
    offset: int  # UTF-16 offset of the tag's content in the output
    start: int  # index of the content in the output character list


class _HtmlParser:
    def __init__(self, source: str, resolve_user: UserResolver | None, strict: bool):
        self.src = source
        self.resolve_user = resolve_user
        self.strict = strict
        self.pos = 0
        self.out: list[str] = []
        self.offset = 0
        self.stack: list[_OpenTag] = []
        self.entities: list[Entity] = []

    def char(self, index: int) -> str:
        return self.src[index] if index < len(self.src) else "\0"

    def byte_offset(self, index: int) -> int:
        return len(self.src[:index].encode("utf-8"))

    def error(self, message: str, index: int | None = None) -> EntityParseError:
        suffix = "" if index is None else f" at byte offset {self.byte_offset(index)}"
        return EntityParseError(message + suffix)

    def emit(self, text: str) -> None:
        self.out.append(text)
        self.offset += utf16_len(text)

    def parse(self) -> FormattedText:
        while self.pos < len(self.src):
            ch = self.src[self.pos]
            if ch == "&":
                self.parse_entity_reference()
            elif ch == "<":
                self.parse_tag()
            else:  # plain text up to the next markup, in one piece
                found = _MARKUP.search(self.src, self.pos)
                end = found.start() if found is not None else len(self.src)
                self.emit(self.src[self.pos : end])
                self.pos = end
        if self.stack:
            raise EntityParseError(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1].name}"'
            )
        return FormattedText("".join(self.out), _normalize(self.entities))

    def parse_entity_reference(self) -> None:
        decoded = _decode_reference(self.src, self.pos)
        if decoded is not None:
            char, self.pos = decoded
            self.emit(char)
            return
        name = re.match(r"&([A-Za-z]+);?", self.src[self.pos :])
        if name and self.strict:
            raise self.error(f'Unsupported HTML entity "{name.group(0)}"', self.pos)
        self.emit("&")
        self.pos += 1

    def parse_tag(self) -> None:
        begin = self.pos
        self.pos += 1
        if self.char(self.pos) == "/":
            self.parse_end_tag(begin)
        else:
            self.parse_start_tag(begin)
        self.pos += 1  # the closing ">"

    def parse_start_tag(self, begin: int) -> None:
        i = self.pos
        while self.char(i) not in _SPACES and self.char(i) != ">":
            i += 1
        if i >= len(self.src):
            raise self.error("Unclosed start tag", begin)
        name = self.src[begin + 1 : i].lower()
        if name not in _SUPPORTED_TAGS:
            raise self.error(f'Unsupported start tag "{name}"', begin)
        self.pos = i
        argument = self.parse_attributes(name, begin)
        if name == "span" and argument != "spoiler":
            raise self.error('Tag "span" must have class "tg-spoiler"', begin)
        self.stack.append(_OpenTag(name, argument, self.offset, len(self.out)))

    def parse_attributes(self, tag: str, begin: int) -> str:
        argument = ""
        while self.char(self.pos) != ">":
            self.skip_spaces()
            if self.char(self.pos) == ">":
                break
            if self.pos >= len(self.src):
                raise self.error("Unclosed start tag", begin)
            attr_start = self.pos
            while self.char(self.pos) not in _SPACES and self.char(self.pos) not in "=>":
                self.pos += 1
            attribute = self.src[attr_start : self.pos].lower()
            if not attribute:
                raise self.error(f'Empty attribute name in the tag "{tag}"', begin)
            self.skip_spaces()
            if self.char(self.pos) != "=":
                if tag == "blockquote" and attribute == "expandable":
                    argument = "1"
                    continue
                raise self.error(
                    f'Expected equal sign in declaration of an attribute of the tag "{tag}"', begin
                )
            self.pos += 1
            self.skip_spaces()
            if self.pos >= len(self.src):
                raise self.error(f'Unclosed start tag "{tag}"', begin)
            value = self.parse_attribute_value()
            if self.pos >= len(self.src):
                raise self.error("Unclosed start tag", begin)
            argument = _tag_argument(tag, attribute, value, argument)
        return argument

    def parse_attribute_value(self) -> str:
        quote = self.char(self.pos)
        if quote not in "'\"":
            start = self.pos
            while self.char(self.pos).isascii() and (
                self.char(self.pos).isalnum() or self.char(self.pos) in ".-"
            ):
                self.pos += 1
            if self.char(self.pos) not in _SPACES and self.char(self.pos) != ">":
                raise self.error("Unexpected end of name token", start)
            return self.src[start : self.pos].lower()
        self.pos += 1
        value: list[str] = []
        while self.pos < len(self.src) and self.src[self.pos] != quote:
            decoded = _decode_reference(self.src, self.pos) if self.src[self.pos] == "&" else None
            if decoded is not None:
                char, self.pos = decoded
                value.append(char)
            else:
                value.append(self.src[self.pos])
                self.pos += 1
        if self.char(self.pos) == quote:
            self.pos += 1
        return "".join(value)

    def parse_end_tag(self, begin: int) -> None:
        if not self.stack:
            raise self.error("Unexpected end tag", begin)
        i = self.pos
        while self.char(i) not in _SPACES and self.char(i) != ">":
            i += 1
        end_name = self.src[begin + 2 : i].lower()
        while i < len(self.src) and self.src[i] in _SPACES:
            i += 1
        if self.char(i) != ">":
            raise self.error("Unclosed end tag", begin)
        self.pos = i
        opened = self.stack[-1]
        if end_name and end_name != opened.name:
            raise self.error(
                f"Unmatched end tag at byte offset {self.byte_offset(begin)}, "
                f'expected "</{opened.name}>", found "</{end_name}>"'
            )
        self.stack.pop()
        if self.offset > opened.offset:
            self.close_entity(opened, self.offset - opened.offset)

    def close_entity(self, tag: _OpenTag, length: int) -> None:
        span: Entity = {"offset": tag.offset, "length": length}
        if tag.name in _SIMPLE_TAGS or tag.name == "span":
            self.entities.append({"type": _SIMPLE_TAGS.get(tag.name, "spoiler"), **span})
        elif tag.name == "a":
            self.close_link(tag, span)
        elif tag.name == "pre":
            self.close_pre(span)
        elif tag.name == "code":
            self.close_code(tag, span)
        elif tag.name == "blockquote":
            kind = "expandable_blockquote" if tag.argument else "blockquote"
            self.entities.append({"type": kind, **span})
        elif tag.name == "tg-emoji":
            if not tag.argument.isdigit() or int(tag.argument) == 0:
                raise EntityParseError("Invalid custom emoji identifier specified")
            self.entities.append({"type": "custom_emoji", **span, "custom_emoji_id": tag.argument})

    def close_link(self, tag: _OpenTag, span: Entity) -> None:
        url = tag.argument or "".join(self.out[tag.start :])
        if m := _USER_LINK_RE.match(url):
            user = self.resolve_user(int(m.group(1))) if self.resolve_user else None
            if user is not None:
                self.entities.append({"type": "text_mention", **span, "user": user})
            return
        if (checked := _check_link(url)) is not None:
            self.entities.append({"type": "text_link", **span, "url": checked})

    def close_pre(self, span: Entity) -> None:
        last = self.entities[-1] if self.entities else None
        if last and last["type"] == "code" and _same_span(last, span) and last.get("language"):
            last["type"] = "pre"
        else:
            self.entities.append({"type": "pre", **span})

    def close_code(self, tag: _OpenTag, span: Entity) -> None:
        language = tag.argument
        inside_pre = any(t.name == "pre" for t in self.stack)
        entity: Entity = {"type": "code", **span}
        if language and inside_pre:
            entity["language"] = language
        self.entities.append(entity)

    def skip_spaces(self) -> None:
        while self.pos < len(self.src) and self.src[self.pos] in _SPACES:
            self.pos += 1


def _tag_argument(tag: str, attribute: str, value: str, current: str) -> str:
    if tag == "a" and attribute == "href":
        return value
    if tag == "code" and attribute == "class" and value.startswith("language-"):
        return value.removeprefix("language-")
    if tag == "span" and attribute == "class" and value.startswith("tg-"):
        return value.removeprefix("tg-")
    if tag == "tg-emoji" and attribute == "emoji-id":
        return value
    if tag == "blockquote" and attribute == "expandable":
        return "1"
    return current


def _decode_reference(src: str, pos: int) -> tuple[str, int] | None:
    """Decode `&lt;`, `&#123;`, `&#x1F600;`... at `pos`: (character, position after it)."""
    end = pos + 1
    if src[end : end + 1] == "#":
        end += 1
        hexadecimal = src[end : end + 1] == "x"
        end += hexadecimal
        digits = "0123456789abcdefABCDEF" if hexadecimal else "0123456789"
        start = end
        while end < len(src) and src[end] in digits:
            end += 1
        if start == end:
            return None
        code = int(src[start:end], 16 if hexadecimal else 10)
        if code == 0 or code >= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return None
        char = chr(code)
    else:
        while end < len(src) and src[end].isascii() and src[end].isalpha():
            end += 1
        name = src[pos + 1 : end]
        if name not in _NAMED_ENTITIES:
            return None
        char = _NAMED_ENTITIES[name]
    if src[end : end + 1] == ";":
        end += 1
    return char, end


def _check_link(url: str) -> str | None:
    url = url.strip()
    if not url or any(ch in url for ch in " \n\t<>"):
        return None
    if "://" not in url:
        return f"http://{url}" if "." in url else None
    return url if url.lower().startswith(_LINK_SCHEMES) else None


def _same_span(a: Entity, b: Entity) -> bool:
    return bool(a["offset"] == b["offset"] and a["length"] == b["length"])


def _contains(outer: Entity, inner: Entity) -> bool:
    return (
        outer is not inner
        and outer["offset"] <= inner["offset"]
        and inner["offset"] + inner["length"] <= outer["offset"] + outer["length"]
    )


def _allowed_inside(inner: Entity, outer: Entity) -> bool:
    if outer["type"] in _CODE_TYPES:
        return False
    if inner["type"] in _STYLE_TYPES or outer["type"] in _STYLE_TYPES:
        return True
    if inner["type"] in _QUOTE_TYPES or outer["type"] in _QUOTE_TYPES:
        return not (inner["type"] in _QUOTE_TYPES and outer["type"] in _QUOTE_TYPES)
    return False


def _normalize(entities: list[Entity]) -> list[Entity]:
    """Sort as Telegram does and drop entities nested where the Bot API forbids it."""
    # Entities are collected as tags close, inner first: on equal spans the later one is outer.
    indexed = sorted(enumerate(entities), key=lambda p: (p[1]["offset"], -p[1]["length"], -p[0]))
    ordered = [entity for _, entity in indexed]
    kept: list[Entity] = []
    for entity in ordered:
        if all(_allowed_inside(entity, outer) for outer in kept if _contains(outer, entity)):
            kept.append(entity)
    return kept


def parse_html(
    source: str, *, resolve_user: UserResolver | None = None, strict: bool = True
) -> FormattedText:
    """Parse Telegram HTML into plain text and MessageEntity dicts (UTF-16 offsets).

    Raises `EntityParseError` with Telegram's reason. `resolve_user` turns the id of a
    `tg://user?id=` link into a User dict (unknown users give no entity, as in Telegram).
    """
    return _HtmlParser(source, resolve_user, strict).parse()


# -- whole texts and captions -------------------------------------------------------------------


def trim(formatted: FormattedText) -> FormattedText:
    """Strip leading and trailing whitespace, as Telegram does, keeping entities aligned."""
    text = formatted.text
    stripped = text.lstrip()
    lead = utf16_len(text[: len(text) - len(stripped)])
    stripped = stripped.rstrip()
    size = utf16_len(stripped)
    entities: list[Entity] = []
    for entity in formatted.entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, size)
        if end > start:
            entities.append({**entity, "offset": start, "length": end - start})
    return FormattedText(stripped, entities)


def detect_entities(formatted: FormattedText) -> FormattedText:
    """Add the entities Telegram finds by itself: commands, links, e-mails, mentions, hashtags."""
    text = formatted.text
    found: list[Entity] = []
    taken: list[tuple[int, int]] = [
        (e["offset"], e["offset"] + e["length"])
        for e in formatted.entities
        if e["type"] in _NO_AUTO_INSIDE
    ]
    for kind, pattern in _AUTO_PATTERNS:
        for match in pattern.finditer(text):
            start = utf16_len(text[: match.start()])
            end = start + utf16_len(match.group(0))
            if any(s < end and start < e for s, e in taken):
                continue
            taken.append((start, end))
            found.append({"type": kind, "offset": start, "length": end - start})
    if not found:
        return formatted
    return FormattedText(text, _normalize([*formatted.entities, *found]))


def check_entities(text: str, entities: list[Entity]) -> None:
    """Explicit `entities` must lie inside the text."""
    size = utf16_len(text)
    for entity in entities:
        offset, length = entity.get("offset", -1), entity.get("length", 0)
        if offset < 0 or length <= 0 or offset + length > size:
            raise bad_request(
                f"can't parse entities: entity {entity.get('type')} at {offset}+{length} "
                f"is outside the text of length {size}"
            )


def format_text(
    text: str,
    *,
    parse_mode: str | None,
    entities: list[Entity] | None,
    resolve_user: UserResolver | None = None,
    strict: bool = True,
) -> FormattedText:
    """Apply `parse_mode` or explicit `entities` to a text, then trim it. Raises `ApiError`."""
    # With a parse_mode Telegram parses the text and ignores explicit entities, as here.
    mode = (parse_mode or "").lower()
    if mode == "html":
        try:
            formatted = parse_html(text, resolve_user=resolve_user, strict=strict)
        except EntityParseError as exc:
            raise bad_request(f"can't parse entities: {exc.reason}") from None
    elif mode in ("markdown", "markdownv2"):
        raise bad_request(f"the sandbox stand-in does not implement parse_mode {parse_mode}")
    elif mode:
        raise bad_request(f"unsupported parse_mode {parse_mode}")
    else:
        check_entities(text, entities or [])
        formatted = FormattedText(text, _normalize([dict(e) for e in entities or []]))
    return detect_entities(trim(formatted))


def message_text(text: str, **options: Any) -> FormattedText:
    """A message text: formatted, 1..4096 UTF-16 units after parsing, else `ApiError`."""
    formatted = format_text(text, **options)
    if not formatted.text:
        raise bad_request("message text is empty")
    if utf16_len(formatted.text) > MAX_TEXT_LENGTH:
        raise bad_request("message is too long")
    return formatted


def caption_text(caption: str | None, **options: Any) -> FormattedText | None:
    """A media caption: formatted, at most 1024 UTF-16 units after parsing; None if empty."""
    if caption is None:
        return None
    formatted = format_text(caption, **options)
    if utf16_len(formatted.text) > MAX_CAPTION_LENGTH:
        raise bad_request("message caption is too long")
    return formatted if formatted.text else None


def check_callback_data(data: str) -> None:
    if not data or len(data.encode("utf-8")) > MAX_CALLBACK_DATA_BYTES:
        raise bad_request("BUTTON_DATA_INVALID")
