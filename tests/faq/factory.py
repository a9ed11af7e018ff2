"""Small valid FAQ content for tests, to be broken one rule at a time."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import yaml

from bot.faq import FaqBase, FaqContentError, load_faq

TODAY = date(2026, 11, 25)
CATEGORY_TITLES = {
    "trademarks": {
        "kk": "Тауар белгілері",
        "ru": "Товарные знаки",
        "ko": "상표",
        "en": "Trademarks",
    },
    "basics": {"kk": "Негізгі ұғымдар", "ru": "Основы", "ko": "기본", "en": "Basics"},
}
# The content every test starts from: file stem -> entry ids.
LAYOUT = {"trademarks": ("trademark-register", "trademark-fees"), "basics": ("about-niip",)}


def texts(entry_id: str) -> dict[str, dict[str, Any]]:
    """Four valid language blocks whose samples cannot collide with another entry's."""
    words = entry_id.replace("-", " ")
    return {
        "kk": {
            "title": f"{words} туралы не білу керек?",
            "samples": [f"{words} қалай {n}" for n in range(8)],
            "answer": f'<b>Қысқаша:</b> {words} — өтінім <a href="https://kazpatent.kz/kk">'
            "ҰЗМИ</a> арқылы беріледі.\nТолығырақ: <i>ресми сайт</i>.\n",
        },
        "ru": {
            "title": f"Что нужно знать про {words}?",
            "samples": [f"{words} как {n}" for n in range(8)],
            "answer": f"<b>Коротко:</b> {words} — заявка подаётся через <a "
            'href="https://kazpatent.kz/ru">НИИС</a>.\n',
        },
        "ko": {
            "title": f"{words}에 대해 무엇을 알아야 하나요?",
            "samples": [f"{words} 방법 {n}" for n in range(8)],
            "answer": f'<b>요약:</b> {words} 출원은 <a href="https://kazpatent.kz/en">NIIP</a>'
            "를 통해 합니다.\n",
        },
        "en": {
            "title": f"What should I know about {words}?",
            "samples": [f"{words} how {n}" for n in range(8)],
            "answer": f"<b>In short:</b> {words} — apply through <a "
            'href="https://kazpatent.kz/en">NIIP</a> &amp; the Committee.\n',
        },
    }


def entry(entry_id: str) -> dict[str, Any]:
    return {
        "id": entry_id,
        "reviewed": date(2026, 11, 20),
        "sources": ["https://kazpatent.kz/ru", "https://adilet.zan.kz/rus/docs/K990000409_"],
        "related": [],
        **texts(entry_id),
    }


def documents() -> dict[str, dict[str, Any]]:
    """File stem -> the YAML document of that file; valid as it is."""
    return {
        stem: {
            "category": stem,
            "title": dict(CATEGORY_TITLES[stem]),
            "entries": [entry(entry_id) for entry_id in ids],
        }
        for stem, ids in LAYOUT.items()
    }


def write(root: Path, docs: dict[str, Any]) -> Path:
    """Write `docs` (stem -> document, or raw YAML text) into `root/faq`; return that directory."""
    directory = root / "faq"
    directory.mkdir(parents=True, exist_ok=True)
    for stem, doc in docs.items():
        text = (
            doc
            if isinstance(doc, str)
            else yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
        )
        (directory / f"{stem}.yaml").write_text(text, encoding="utf-8")
    return directory


def write_topics(path: Path, topics: dict[str, str]) -> Path:
    rows = "\n".join(
        f"| {entry_id} | {category} | something |" for entry_id, category in topics.items()
    )
    path.write_text(
        f"# Topics\n\n| id | category | what |\n|---|---|---|\n{rows}\n", encoding="utf-8"
    )
    return path


def canonical() -> dict[str, str]:
    return {entry_id: stem for stem, ids in LAYOUT.items() for entry_id in ids}


def load(root: Path, docs: dict[str, Any], topics: dict[str, str] | None = None) -> FaqBase:
    root.mkdir(parents=True, exist_ok=True)
    topics_file = write_topics(root / "topics.md", canonical() if topics is None else topics)
    return load_faq(write(root, docs), topics=topics_file, today=TODAY)


def error(root: Path, docs: dict[str, Any], topics: dict[str, str] | None = None) -> str:
    """The one-line message `load_faq` refuses `docs` with (fails the test if it accepts them)."""
    try:
        load(root, docs, topics)
    except FaqContentError as exc:
        message = str(exc)
        assert "\n" not in message, message
        return message
    raise AssertionError("the content was accepted")
