"""`python -m bot faq check | export | match`.

`check` validates the content in `$LOCALES_DIR/faq` (default: the repository's `locales/faq`),
prints a short table and, as its last line, one JSON object:
`{"entries": N, "ids": [...], "per_lang": {"kk": N, "ru": N, "ko": N, "en": N}}`; on a fault it
prints one line to stderr and exits 1. `export --format md [--out DIR]` writes the review pages.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from bot.faq.content import LANGUAGES, MAX_ANSWER, FaqBase, FaqContentError, load_faq

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_EXPORT_DIR = REPO_ROOT / "build" / "faq-review"


def faq_directory() -> Path:
    """`$LOCALES_DIR/faq`, the repository's `locales/faq` by default."""
    return Path(os.environ.get("LOCALES_DIR") or REPO_ROOT / "locales") / "faq"


def summary(base: FaqBase) -> dict[str, object]:
    """The machine-readable result of `check` (its last output line)."""
    # A loaded base has every language complete (the loader refuses anything less); counted
    # anyway, so the figure stays honest if partial languages are ever allowed.
    complete = {lang: sum(lang in entry.texts for entry in base.entries) for lang in LANGUAGES}
    return {"entries": len(base), "ids": sorted(base.by_id), "per_lang": complete}


def table(base: FaqBase) -> str:
    """Entries per category and the longest answer per language (visible characters)."""
    head = f"{'category':<14} {'entries':>7}  " + "  ".join(f"{lang:>5}" for lang in LANGUAGES)
    rows = [head, "-" * len(head)]
    for category in base.categories:
        longest = [max(e.text(lang).answer_chars for e in category.entries) for lang in LANGUAGES]
        rows.append(
            f"{category.id:<14} {len(category.entries):>7}  "
            + "  ".join(f"{n:>5}" for n in longest)
        )
    mean = [sum(e.text(lang).answer_chars for e in base.entries) // len(base) for lang in LANGUAGES]
    rows.append("-" * len(head))
    rows.append(f"{'all (mean)':<14} {len(base):>7}  " + "  ".join(f"{n:>5}" for n in mean))
    rows.append(f"(per language: longest answer, characters after HTML parsing; max {MAX_ANSWER})")
    return "\n".join(rows)


def _check(_: argparse.Namespace) -> int:
    base = load_faq(faq_directory())
    print(table(base))
    print(json.dumps(summary(base), ensure_ascii=False), flush=True)
    return 0


def _export(args: argparse.Namespace) -> int:
    from bot.faq.export import export_markdown

    base = load_faq(faq_directory())
    try:
        for path in export_markdown(base, args.out):
            print(f"wrote {path}")
    except OSError as exc:  # a file where a folder should be, no permission, a full disk...
        print(f"cannot write the export to {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


def _match(_: argparse.Namespace) -> int:
    from bot.faq.match.cli import run_match

    try:
        return run_match(sys.stdin, sys.stdout, faq_directory())
    except BrokenPipeError:
        # The reader went away: stop as Unix tools do, without a traceback (nor another
        # one when Python flushes stdout at exit).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot faq", description="FAQ content tools")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="validate the FAQ content; last line is JSON")
    check.set_defaults(handler=_check)
    export = sub.add_parser("export", help="write review pages (one per language)")
    export.add_argument("--format", choices=["md"], default="md", help="output format")
    export.add_argument(
        "--out", type=Path, default=DEFAULT_EXPORT_DIR, help="output directory (build/faq-review)"
    )
    export.set_defaults(handler=_export)
    match = sub.add_parser("match", help="JSON lines in, matched FAQ entries out (one per line)")
    match.set_defaults(handler=_match)
    return parser


def main(argv: list[str]) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # --help or a usage error: argparse has printed it
        return exc.code if isinstance(exc.code, int) else 2
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        return int(args.handler(args))
    except FaqContentError as exc:
        print(exc, file=sys.stderr)
        return 1
