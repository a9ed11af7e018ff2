"""The FAQ base: typed, immutable, and validated as a whole when it is loaded.

`load_faq(directory)` reads every `*.yaml` in `directory` (the schema is
`locales/faq/README.md`) and either returns a `FaqBase` or raises `FaqContentError` with one
line naming the file, the entry and the field, e.g.
`trademarks.yaml: entry 'trademark-fees': ko.answer: 1612 characters after HTML parsing (max 1500)`.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import yaml

from bot.faq.telegram_html import TelegramHtmlError, links, parse_telegram_html, visible_text
from bot.languages import LANGUAGES

__all__ = [
    "CATEGORIES",
    "LANGUAGES",
    "FaqBase",
    "FaqCategory",
    "FaqContentError",
    "FaqEntry",
    "LocalizedText",
    "default_topics_path",
    "load_faq",
]

logger = logging.getLogger(__name__)

# Menu order; each category is one file, `<category>.yaml`.
CATEGORIES: tuple[str, ...] = (
    "basics",
    "trademarks",
    "patents",
    "copyright",
    "enforcement",
    "cooperation",
    "this-service",
)
MAX_TITLE = 120
MAX_ANSWER = 1500
MIN_SAMPLES = 8
REVIEW_TIMEZONE = ZoneInfo("Asia/Almaty")  # "not in the future" is judged on Kazakhstan's date

_FILE_KEYS = frozenset({"category", "title", "entries"})
_ENTRY_KEYS = frozenset({"id", "reviewed", "sources", "related", *LANGUAGES})
_ENTRY_OPTIONAL = frozenset({"related"})
_TEXT_KEYS = frozenset({"title", "samples", "answer"})
_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_KAZAKH = re.compile(r"[әғқңөұүһіӘҒҚҢӨҰҮҺІ]")
_TRAILING = tuple(".,;:!?)»\"'")
_SPACES = re.compile(r"\s+")


class FaqContentError(ValueError):
    """The FAQ content is invalid; the message is one line naming file, entry and field."""


@dataclass(frozen=True, slots=True)
class LocalizedText:
    """One language's version of an entry."""

    title: str  # the question, as a menu item (plain text)
    samples: tuple[str, ...]  # phrasings as users type them
    answer: str  # Telegram HTML, stripped
    answer_chars: int  # visible characters of `answer`


@dataclass(frozen=True, slots=True)
class FaqEntry:
    id: str
    category: str
    reviewed: date
    sources: tuple[str, ...]
    related: tuple[str, ...]
    texts: Mapping[str, LocalizedText]  # read-only, one per language in LANGUAGES

    def text(self, lang: str) -> LocalizedText:
        return self.texts[lang]


@dataclass(frozen=True, slots=True)
class FaqCategory:
    id: str
    titles: Mapping[str, str]  # read-only menu labels per language
    entries: tuple[FaqEntry, ...]

    def title(self, lang: str) -> str:
        return self.titles[lang]


@dataclass(frozen=True, slots=True)
class FaqBase:
    categories: tuple[FaqCategory, ...]  # in CATEGORIES order
    entries: tuple[FaqEntry, ...]  # category by category, in file order
    by_id: Mapping[str, FaqEntry]  # read-only

    def entry(self, entry_id: str) -> FaqEntry:
        return self.by_id[entry_id]

    def category(self, category_id: str) -> FaqCategory:
        for category in self.categories:
            if category.id == category_id:
                return category
        raise KeyError(category_id)

    def __len__(self) -> int:
        return len(self.entries)


# --- YAML -----------------------------------------------------------------------------------

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc,valid-type]
    """Safe loading that refuses duplicate keys and leaves impossible dates as strings."""


def _mapping_without_duplicates(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, Hashable):
            continue  # construct_mapping refuses it with its own message
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


def _timestamp_or_text(loader: _Loader, node: yaml.ScalarNode) -> object:
    try:
        return yaml.constructor.SafeConstructor.construct_yaml_timestamp(loader, node)
    except ValueError:  # e.g. 2026-02-30: reported later, with the entry and field
        return loader.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:map", _mapping_without_duplicates)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_or_text)


def _read_yaml(path: Path) -> object:
    try:
        raw = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise FaqContentError(
            f"{path.name}: not UTF-8 ({exc.reason} at byte {exc.start})"
        ) from None
    except OSError as exc:
        raise FaqContentError(f"{path.name}: cannot be read ({exc.strerror})") from None
    try:
        return yaml.load(raw, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = exc.problem or exc.context or "cannot be parsed"
        raise FaqContentError(f"{path.name}: invalid YAML: {problem}{where}") from None
    except yaml.YAMLError as exc:
        raise FaqContentError(f"{path.name}: invalid YAML: {exc}") from None


# --- checks on single values -------------------------------------------------------------------


def _fail(where: str, problem: str) -> NoReturn:
    raise FaqContentError(f"{where}: {problem}")


def _type_name(value: object) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", type(None): "nothing"}.get(
        type(value), type(value).__name__
    )


def _mapping(value: object, where: str) -> dict[Any, Any]:
    if not isinstance(value, dict):
        _fail(where, f"expected a mapping, got {_type_name(value)}")
    return value


def _list(value: object, where: str) -> list[Any]:
    if not isinstance(value, list):
        _fail(where, f"expected a list, got {_type_name(value)}")
    return value


def _text(value: object, where: str) -> str:
    if not isinstance(value, str):
        quote = "; put it in quotes" if isinstance(value, bool | int | float | date) else ""
        _fail(where, f"expected text, got {_type_name(value)} ({value!r}){quote}")
    if not value.strip():
        _fail(where, "is empty")
    return value.strip()


def _keys(
    mapping: dict[Any, Any], known: frozenset[str], optional: frozenset[str], where: str
) -> None:
    for key in mapping:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = (
                f" (did you mean {close[0]!r}?)"
                if close
                else f" (expected {', '.join(sorted(known))})"
            )
            _fail(where, f"unknown key {key!r}{hint}")
    missing = sorted(known - optional - set(mapping))
    if missing:
        _fail(where, f"missing key {missing[0]!r}")


def _check_url(url: str, where: str) -> None:
    if _SPACES.search(url):
        _fail(where, f"{url!r}: a link must not contain spaces")
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        _fail(where, f"{url!r} is not a well-formed link ({exc})")
    if parts.scheme != "https":
        _fail(where, f"{url!r}: links must start with https://")
    if "." not in host or host.startswith(".") or host.endswith("."):
        _fail(where, f"{url!r} is not a well-formed link (no host name with a dot)")
    if url.endswith(_TRAILING):
        _fail(where, f"{url!r} ends with {url[-1]!r}: punctuation is not part of a link")


def _check_script(lang: str, text: str, where: str) -> None:
    if lang == "ko" and not _HANGUL.search(text):
        _fail(where, "Korean text contains no Hangul")
    if lang == "kk" and not _KAZAKH.search(text):
        _fail(where, "Kazakh text contains no Kazakh letter (ә ғ қ ң ө ұ ү һ і)")


def _reviewed(value: object, today: date, where: str) -> date:
    if isinstance(value, datetime):
        _fail(where, f"{value} has a time of day; write the date only (YYYY-MM-DD)")
    if isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            _fail(where, f"{value!r} is not a real date")
    if not isinstance(value, date):
        _fail(where, f"expected a date YYYY-MM-DD, got {_type_name(value)} ({value!r})")
    if value > today:
        _fail(where, f"{value.isoformat()} is in the future (today is {today.isoformat()})")
    return value


def _normalised(sample: str) -> str:
    return _SPACES.sub(" ", sample).strip().casefold()


# --- one file ---------------------------------------------------------------------------------


def _localized(lang: str, value: object, where: str) -> LocalizedText:
    block = _mapping(value, f"{where}: {lang}")
    _keys(block, _TEXT_KEYS, frozenset(), f"{where}: {lang}")
    title = _text(block["title"], f"{where}: {lang}.title")
    if "\n" in title:
        _fail(f"{where}: {lang}.title", "must be one line (it is a menu item)")
    if len(title) > MAX_TITLE:
        _fail(f"{where}: {lang}.title", f"{len(title)} characters (max {MAX_TITLE})")
    _check_script(lang, title, f"{where}: {lang}.title")
    samples = tuple(
        _text(s, f"{where}: {lang}.samples[{i}]")
        for i, s in enumerate(_list(block["samples"], f"{where}: {lang}.samples"))
    )
    if len(samples) < MIN_SAMPLES:
        _fail(f"{where}: {lang}.samples", f"{len(samples)} phrasings (at least {MIN_SAMPLES})")
    answer = _text(block["answer"], f"{where}: {lang}.answer")
    try:
        nodes = parse_telegram_html(answer)
    except TelegramHtmlError as exc:
        _fail(f"{where}: {lang}.answer", f"invalid Telegram HTML: {exc}")
    shown = visible_text(nodes).strip()
    if not shown:
        _fail(f"{where}: {lang}.answer", "has no visible text")
    if len(shown) > MAX_ANSWER:
        _fail(
            f"{where}: {lang}.answer",
            f"{len(shown)} characters after HTML parsing (max {MAX_ANSWER})",
        )
    for href in links(nodes):
        _check_url(href, f"{where}: {lang}.answer: link")
    _check_script(lang, shown, f"{where}: {lang}.answer")
    return LocalizedText(title, samples, answer, len(shown))


def _entry(raw: object, category: str, index: int, today: date, file: str) -> FaqEntry:
    where = f"{file}: entry #{index + 1}"
    data = _mapping(raw, where)
    if isinstance(data.get("id"), str) and data["id"]:
        where = f"{file}: entry {data['id']!r}"
    _keys(data, _ENTRY_KEYS, _ENTRY_OPTIONAL, where)
    entry_id = _text(data["id"], f"{where}: id")
    if not _ID.fullmatch(entry_id):
        _fail(f"{where}: id", f"{entry_id!r} is not kebab-case (like 'trademark-fees')")
    reviewed = _reviewed(data["reviewed"], today, f"{where}: reviewed")
    sources = tuple(
        _text(s, f"{where}: sources[{i}]")
        for i, s in enumerate(_list(data["sources"], f"{where}: sources"))
    )
    if not sources:
        _fail(f"{where}: sources", "at least one source link is required")
    for i, url in enumerate(sources):
        _check_url(url, f"{where}: sources[{i}]")
    related = tuple(
        _text(r, f"{where}: related[{i}]")
        for i, r in enumerate(_list(data.get("related", []), f"{where}: related"))
    )
    texts = {lang: _localized(lang, data[lang], where) for lang in LANGUAGES}
    return FaqEntry(entry_id, category, reviewed, sources, related, MappingProxyType(texts))


def _category_titles(value: object, file: str) -> Mapping[str, str]:
    block = _mapping(value, f"{file}: title")
    _keys(block, frozenset(LANGUAGES), frozenset(), f"{file}: title")
    titles = {lang: _text(block[lang], f"{file}: title.{lang}") for lang in LANGUAGES}
    # Menu labels are one or two words: only the Korean script is checked here (a Kazakh label
    # such as "Патенттер" may rightly have no Kazakh-only letter).
    _check_script("ko", titles["ko"], f"{file}: title.ko")
    return MappingProxyType(titles)


def _category(path: Path, today: date) -> FaqCategory:
    file = path.name
    data = _mapping(_read_yaml(path), file)
    _keys(data, _FILE_KEYS, frozenset(), file)
    category = _text(data["category"], f"{file}: category")
    if category not in CATEGORIES:
        _fail(
            f"{file}: category", f"unknown category {category!r} (known: {', '.join(CATEGORIES)})"
        )
    if category != path.stem:
        _fail(
            f"{file}: category",
            f"{category!r} does not match the file name (expected {path.stem!r})",
        )
    titles = _category_titles(data["title"], file)
    raw_entries = _list(data["entries"], f"{file}: entries")
    if not raw_entries:
        _fail(f"{file}: entries", "the category has no entries")
    entries = tuple(_entry(raw, category, i, today, file) for i, raw in enumerate(raw_entries))
    return FaqCategory(category, titles, entries)


# --- across files -----------------------------------------------------------------------------


def _check_unique_ids(categories: list[FaqCategory]) -> None:
    seen: dict[str, str] = {}
    for category in categories:
        for entry in category.entries:
            file = f"{category.id}.yaml"
            if entry.id in seen:
                _fail(f"{file}: entry {entry.id!r}: id", f"already used in {seen[entry.id]}")
            seen[entry.id] = file


def _check_related(entries: dict[str, FaqEntry]) -> None:
    for entry in entries.values():
        where = f"{entry.category}.yaml: entry {entry.id!r}: related"
        for i, other in enumerate(entry.related):
            if other == entry.id:
                _fail(f"{where}[{i}]", "an entry cannot be related to itself")
            if other not in entries:
                _fail(f"{where}[{i}]", f"no entry has the id {other!r}")
            if other in entry.related[:i]:
                _fail(f"{where}[{i}]", f"{other!r} is listed twice")


def _check_unique_samples(entries: dict[str, FaqEntry]) -> None:
    for lang in LANGUAGES:
        owner: dict[str, tuple[FaqEntry, int]] = {}
        for entry in entries.values():
            for i, sample in enumerate(entry.texts[lang].samples):
                key = _normalised(sample)
                if key in owner:
                    first, j = owner[key]
                    also = (
                        f"samples[{j}] of the same entry"
                        if first is entry
                        else f"a sample of entry {first.id!r} ({first.category}.yaml)"
                    )
                    _fail(
                        f"{entry.category}.yaml: entry {entry.id!r}: {lang}.samples[{i}]",
                        f"{sample!r} repeats {also}",
                    )
                owner[key] = (entry, i)


def default_topics_path() -> Path:
    """`IPDESK_TOPICS`, else `<repo>/../shared/knowledge/topics.md`."""
    configured = os.environ.get("IPDESK_TOPICS")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2].parent / "shared" / "knowledge" / "topics.md"


def _canonical_topics(path: Path) -> dict[str, str]:
    """Canonical id -> category, from the markdown table in topics.md."""
    topics: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip().strip("`") for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and _ID.fullmatch(cells[0]) and cells[1] in CATEGORIES:
            topics[cells[0]] = cells[1]
    if not topics:
        raise FaqContentError(f"{path.name}: no table of canonical ids (| id | category | ...)")
    return topics


def _check_canonical(entries: dict[str, FaqEntry], topics: Path) -> None:
    if not topics.is_file():
        logger.warning("canonical FAQ ids not checked: %s not found (set IPDESK_TOPICS)", topics)
        return
    canonical = _canonical_topics(topics)
    missing = [f"{i} ({c}.yaml)" for i, c in canonical.items() if i not in entries]
    if missing:
        raise FaqContentError(
            f"{len(missing)} canonical id(s) from {topics.name} have no entry: {', '.join(missing)}"
        )
    for entry_id, category in canonical.items():
        entry = entries[entry_id]
        if entry.category != category:
            _fail(
                f"{entry.category}.yaml: entry {entry_id!r}: category",
                f"{topics.name} puts this canonical id in {category}.yaml",
            )


def load_faq(directory: Path, *, topics: Path | None = None, today: date | None = None) -> FaqBase:
    """Load and validate every `*.yaml` in `directory`; raise `FaqContentError` on the first fault.

    `topics` is the canonical-id list (default: `default_topics_path()`); if it does not exist
    that one check is skipped with a logged warning. `today` bounds the review dates (default:
    today in Kazakhstan).
    """
    if not directory.is_dir():
        raise FaqContentError(f"{directory}: no such FAQ directory")
    paths = sorted(directory.glob("*.yaml"))
    if not paths:
        raise FaqContentError(f"{directory}: no *.yaml FAQ files")
    if today is None:
        today = datetime.now(REVIEW_TIMEZONE).date()
    loaded = sorted(
        (_category(path, today) for path in paths), key=lambda c: CATEGORIES.index(c.id)
    )
    _check_unique_ids(loaded)
    by_id = {entry.id: entry for category in loaded for entry in category.entries}
    _check_related(by_id)
    _check_unique_samples(by_id)
    _check_canonical(by_id, topics if topics is not None else default_topics_path())
    return FaqBase(
        categories=tuple(loaded),
        entries=tuple(by_id.values()),
        by_id=MappingProxyType(by_id),
    )
