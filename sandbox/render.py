"""Messages as terminal text: entities as ANSI styles, buttons numbered under the text."""

from __future__ import annotations

from typing import Any

_STYLES = {
    "bold": "1",
    "italic": "3",
    "underline": "4",
    "strikethrough": "9",
    "spoiler": "7",
    "code": "2",
    "pre": "2",
    "blockquote": "2",
    "expandable_blockquote": "2",
}
_RESET = "\033[0m"


def _utf16_to_index(text: str) -> list[int]:
    """For each UTF-16 offset, the index of the Python character it falls in."""
    positions: list[int] = []
    for index, char in enumerate(text):
        positions.extend([index] * (2 if ord(char) > 0xFFFF else 1))
    positions.append(len(text))
    return positions


def render_text(text: str, entities: list[dict[str, Any]], *, ansi: bool) -> str:
    """Plain text with entities shown: styles as ANSI codes (if `ansi`), links as `text (url)`."""
    index = _utf16_to_index(text)
    opening: dict[int, list[str]] = {}
    closing: dict[int, list[str]] = {}
    for entity in entities:
        start = index[entity["offset"]]
        end = index[min(entity["offset"] + entity["length"], len(index) - 1)]
        if entity["type"] == "text_link":
            closing.setdefault(end, []).append(f" ({entity['url']})")
        elif ansi and entity["type"] in _STYLES:
            opening.setdefault(start, []).append(f"\033[{_STYLES[entity['type']]}m")
            closing.setdefault(end, []).append(_RESET)
    out: list[str] = []
    active: list[str] = []
    for position, char in enumerate(text):
        out.extend(_close(closing.get(position, []), active))
        for code in opening.get(position, []):
            active.append(code)
            out.append(code)
        out.append(char)
    out.extend(_close(closing.get(len(text), []), active))
    return "".join(out)


def _close(marks: list[str], active: list[str]) -> list[str]:
    """Closing marks at a position; an ANSI reset re-applies the styles still open."""
    out: list[str] = []
    for mark in marks:
        if mark == _RESET:
            if active:
                active.pop()
            out.extend([_RESET, *active])
        else:
            out.append(mark)
    return out


def render_message(message: dict[str, Any], *, ansi: bool) -> str:
    """A message as lines: its text or caption (or what it holds), then `[n] Button` lines."""
    if "text" in message:
        body = render_text(message["text"], message.get("entities", []), ansi=ansi)
    elif "caption" in message:
        kind = _kind(message)
        caption = render_text(message["caption"], message.get("caption_entities", []), ansi=ansi)
        body = f"<{kind}> {caption}"
    else:
        body = f"<{_kind(message)}>"
    lines = [body]
    for number, button in enumerate(buttons(message), 1):
        target = f" -> {button['url']}" if "url" in button else ""
        lines.append(f"  [{number}] {button['text']}{target}")
    return "\n".join(lines)


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    markup = message.get("reply_markup") or {}
    return [button for row in markup.get("inline_keyboard", []) for button in row]


def _kind(message: dict[str, Any]) -> str:
    for key in ("photo", "document", "video", "voice", "audio", "animation", "sticker"):
        if key in message:
            return key
    service = [key for key in message if key.startswith("forum_topic_")]
    return service[0] if service else "message"
