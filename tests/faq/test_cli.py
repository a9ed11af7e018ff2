"""`python -m bot faq check | export` as a subprocess, against content in a tmp LOCALES_DIR."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.faq.cli import main

from . import factory
from .factory import documents

REPO = Path(__file__).resolve().parents[2]


def run(tmp_path: Path, *args: str, topics: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "LOCALES_DIR": str(tmp_path),
        "IPDESK_TOPICS": str(
            topics or factory.write_topics(tmp_path / "topics.md", factory.canonical())
        ),
        "PYTHONPATH": str(REPO),
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", "faq", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_check_prints_a_table_then_json_last(tmp_path: Path) -> None:
    factory.write(tmp_path, documents())
    result = run(tmp_path, "check")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert json.loads(lines[-1]) == {
        "entries": 3,
        "ids": ["about-niip", "trademark-fees", "trademark-register"],
        "per_lang": {"kk": 3, "ru": 3, "ko": 3, "en": 3},
    }
    assert any(line.startswith("trademarks") and " 2 " in line for line in lines)
    assert result.stderr == ""


def test_check_failure_is_one_line_on_stderr(tmp_path: Path) -> None:
    docs = documents()
    docs["trademarks"]["entries"][1]["ko"]["answer"] = "가" * 1612
    factory.write(tmp_path, docs)
    result = run(tmp_path, "check")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        "trademarks.yaml: entry 'trademark-fees': ko.answer: 1612 characters after HTML parsing "
        "(max 1500)\n"
    )


def test_check_without_topics_file_warns_on_stderr(tmp_path: Path) -> None:
    factory.write(tmp_path, documents())
    result = run(tmp_path, "check", topics=tmp_path / "no-topics.md")
    assert result.returncode == 0
    assert "WARNING: canonical FAQ ids not checked" in result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["entries"] == 3


def test_export_writes_review_pages(tmp_path: Path) -> None:
    factory.write(tmp_path, documents())
    result = run(tmp_path, "export", "--format", "md", "--out", str(tmp_path / "review"))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "review").iterdir()) == [
        "faq-en.md",
        "faq-kk.md",
        "faq-ko.md",
        "faq-ru.md",
    ]
    assert str(tmp_path / "review" / "faq-kk.md") in result.stdout


def test_export_to_a_place_it_cannot_write_says_so_in_one_line(tmp_path: Path) -> None:
    factory.write(tmp_path, documents())
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = run(tmp_path, "export", "--format", "md", "--out", str(blocker / "review"))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"cannot write the export to {blocker / 'review'}: Not a directory"
    ]


def test_usage_errors_return_a_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--format", "pdf"]) == 2
    assert main([]) == 2
    assert "usage:" in capsys.readouterr().err


@pytest.mark.skipif(
    not any((REPO / "locales" / "faq").glob("*.yaml")), reason="no FAQ content in locales/faq yet"
)
def test_repository_content_passes_check() -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"LOCALES_DIR", "IPDESK_TOPICS"}}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "faq", "check"],
        cwd=REPO,
        env={**env, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["entries"] >= 30
