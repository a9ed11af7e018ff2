"""The FAQ dev set (tests/data/faq_dev.jsonl) is well-formed, complete and freshly written.

Accuracy is the benchmark's business (bench/faq.py), not a test's.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bot.faq.cli import faq_directory
from bot.faq.content import LANGUAGES, FaqBase, load_faq

DEV_SET = Path(__file__).resolve().parents[1] / "data" / "faq_dev.jsonl"
KINDS = ("in", "ood", "near")
PER_ENTRY = 5  # questions per entry and language
PER_OFF_TOPIC = 20  # out-of-domain and near-domain questions per language
MAX_JACCARD = 0.5  # character-3-gram similarity to any sample phrasing


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for line in DEV_SET.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


@pytest.fixture(scope="module")
def base() -> FaqBase:
    return load_faq(faq_directory())


def trigrams(text: str) -> set[str]:
    text = re.sub(r"\s+", " ", text.casefold()).strip()
    return {text[i : i + 3] for i in range(len(text) - 2)}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def test_every_line_is_a_well_formed_question(rows: list[dict[str, Any]], base: FaqBase) -> None:
    assert rows
    for row in rows:
        assert set(row) == {"text", "lang", "expected", "kind"}, row
        assert isinstance(row["text"], str) and row["text"].strip(), row
        assert row["lang"] in LANGUAGES, row
        assert row["kind"] in KINDS, row
        if row["kind"] == "in":
            assert row["expected"] in base.by_id, row
        else:
            assert row["expected"] is None, row


def test_no_question_is_repeated(rows: list[dict[str, Any]]) -> None:
    counts = Counter((row["lang"], row["text"].casefold().strip()) for row in rows)
    assert [text for text, n in counts.items() if n > 1] == []


def test_every_entry_has_questions_in_every_language(
    rows: list[dict[str, Any]], base: FaqBase
) -> None:
    counts = Counter((row["expected"], row["lang"]) for row in rows if row["kind"] == "in")
    missing = [
        f"{entry.id}/{lang}: {counts[(entry.id, lang)]}"
        for entry in base.entries
        for lang in LANGUAGES
        if counts[(entry.id, lang)] < PER_ENTRY
    ]
    assert missing == [], f"fewer than {PER_ENTRY} dev questions"


def test_off_topic_questions_in_every_language(rows: list[dict[str, Any]]) -> None:
    counts = Counter((row["kind"], row["lang"]) for row in rows)
    for kind in ("ood", "near"):
        for lang in LANGUAGES:
            assert counts[(kind, lang)] >= PER_OFF_TOPIC, (kind, lang)


def test_questions_are_not_copies_of_sample_phrasings(
    rows: list[dict[str, Any]], base: FaqBase
) -> None:
    samples = [
        (entry.id, sample, trigrams(sample))
        for entry in base.entries
        for lang in LANGUAGES
        for sample in entry.text(lang).samples
    ]
    copies = []
    for row in rows:
        grams = trigrams(row["text"])
        for entry_id, sample, sample_grams in samples:
            similarity = jaccard(grams, sample_grams)
            if similarity > MAX_JACCARD:
                copies.append(f"{row['text']!r} ~ {entry_id}: {sample!r} ({similarity:.2f})")
    assert copies == [], "\n".join(copies)
