"""`python -m bot faq match`: JSON lines in, one flushed JSON line out per input line.

In:  {"text": "상표 등록 얼마나 걸려요?", "lang": "ko"}   ("lang", the user's chosen language, is
     optional and only decides text too short to detect)
Out: {"id": "trademark-register", "score": 0.52, "lang": "ko", "top": ["trademark-register", ...]}
     `id` is null unless the match is confident; `top` always holds the best 3 ids.
A line that is not such an object gives {"error": "..."} and the loop goes on; blank lines
are skipped. A reader that goes away (`| head -1`) ends it quietly. Needs no BOT_TOKEN,
database or network.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TextIO

from bot.faq.content import load_faq
from bot.faq.match.matcher import FaqMatcher, MatchResult

__all__ = ["result_json", "run_match"]


def result_json(result: MatchResult) -> dict[str, Any]:
    """The machine interface's fields, exactly (see the conventions)."""
    return {"id": result.id, "score": result.score, "lang": result.lang, "top": list(result.top)}


def _request(line: str) -> tuple[str, str | None] | str:
    """(text, hint) from one input line, or an error message."""
    try:
        request = json.loads(line)
    except json.JSONDecodeError as exc:
        return f"invalid JSON: {exc.msg} (column {exc.colno})"
    except (ValueError, RecursionError) as exc:  # a 5 000-digit number, [[[[ 1 500 deep ...
        return f"invalid JSON: {exc}"[:200]
    if not isinstance(request, dict):
        return 'expected a JSON object such as {"text": "..."}'
    text, lang = request.get("text"), request.get("lang")
    if not isinstance(text, str):
        return '"text" must be a string'
    if lang is not None and not isinstance(lang, str):
        return '"lang" must be a string or absent'
    return text, lang


def _write(stdout: TextIO, payload: dict[str, Any]) -> None:
    stdout.write(json.dumps(payload) + "\n")
    stdout.flush()


def run_match(stdin: TextIO, stdout: TextIO, faq_dir: Path) -> int:
    """Answer every line of `stdin` on `stdout` until end of input; the exit status."""
    matcher = FaqMatcher.build(load_faq(faq_dir))
    for line in iter(stdin.readline, ""):
        if not line.strip():
            continue
        request = _request(line)
        if isinstance(request, str):
            _write(stdout, {"error": request})
            continue
        text, hint = request
        _write(stdout, result_json(matcher.match(text, hint)))
    return 0
