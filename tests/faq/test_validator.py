"""One test per validation rule: a valid fixture broken in one place, refused with one line
naming the file, the entry and the field."""

from __future__ import annotations

import logging
from datetime import date, datetime
from pathlib import Path

import pytest

from bot.faq import FaqContentError, load_faq

from . import factory
from .factory import documents, error, load

TM = "trademarks.yaml: entry 'trademark-fees'"


def test_valid_fixture_loads(tmp_path: Path) -> None:
    base = load(tmp_path, documents())
    assert [c.id for c in base.categories] == ["basics", "trademarks"]  # menu order, not files
    assert sorted(base.by_id) == ["about-niip", "trademark-fees", "trademark-register"]
    fees = base.entry("trademark-fees")
    assert fees.category == "trademarks"
    assert fees.reviewed == date(2026, 11, 20)
    assert fees.text("ko").answer.startswith("<b>요약:</b>")
    assert fees.text("en").answer_chars == len(
        "In short: trademark fees — apply through NIIP & the Committee."
    )
    assert base.category("trademarks").title("kk") == "Тауар белгілері"
    with pytest.raises(TypeError):
        fees.texts["en"] = fees.texts["ru"]  # type: ignore[index]


def test_yaml_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    docs: dict[str, object] = dict(documents())
    docs["trademarks"] = "category: trademarks\ntitle: {kk: a\nentries: [\n"
    message = error(tmp_path, docs)
    assert message.startswith("trademarks.yaml: invalid YAML:")
    assert "line " in message


@pytest.mark.parametrize(
    ("break_it", "expected"),
    [
        (
            lambda d: d["trademarks"]["entries"][1].update(source=["https://a.kz"]),
            f"{TM}: unknown key 'source' (did you mean 'sources'?)",
        ),
        (lambda d: d["trademarks"]["entries"][1].pop("reviewed"), f"{TM}: missing key 'reviewed'"),
        (
            lambda d: d["trademarks"]["entries"][1]["ru"].update(samples="одна строка"),
            f"{TM}: ru.samples: expected a list, got a string",
        ),
        (
            lambda d: d["trademarks"]["entries"][1]["en"]["samples"].__setitem__(2, False),
            f"{TM}: en.samples[2]: expected text, got bool",
        ),
        (
            lambda d: d["trademarks"]["entries"][1]["kk"].update(note="x"),
            f"{TM}: kk: unknown key 'note'",
        ),
        (lambda d: d["trademarks"].update(entry=[]), "trademarks.yaml: unknown key 'entry'"),
        (lambda d: d["trademarks"].update(entries={}), "trademarks.yaml: entries: expected a list"),
        (
            lambda d: d["trademarks"]["entries"].__setitem__(1, "trademark-fees"),
            "trademarks.yaml: entry #2: expected a mapping, got a string",
        ),
    ],
)
def test_schema_keys_and_types(tmp_path: Path, break_it, expected: str) -> None:
    docs = documents()
    break_it(docs)
    assert error(tmp_path, docs).startswith(expected)


def test_duplicate_yaml_key_is_refused(tmp_path: Path) -> None:
    docs: dict[str, object] = dict(documents())
    docs["basics"] = "category: basics\ncategory: basics\n"
    message = error(tmp_path, docs)
    assert message.startswith("basics.yaml: invalid YAML: duplicate key 'category'")


@pytest.mark.parametrize(
    ("category", "expected"),
    [
        ("design", "trademarks.yaml: category: unknown category 'design'"),
        ("patents", "trademarks.yaml: category: 'patents' does not match the file name"),
    ],
)
def test_category_known_and_equal_to_the_file_name(
    tmp_path: Path, category: str, expected: str
) -> None:
    docs = documents()
    docs["trademarks"]["category"] = category
    assert error(tmp_path, docs).startswith(expected)


def test_all_four_languages_required(tmp_path: Path) -> None:
    docs = documents()
    del docs["trademarks"]["entries"][1]["ko"]
    assert error(tmp_path, docs) == f"{TM}: missing key 'ko'"


@pytest.mark.parametrize(
    ("field", "value"), [("title", "  "), ("answer", ""), ("answer", "<b> </b>\n")]
)
def test_title_and_answer_not_empty(tmp_path: Path, field: str, value: str) -> None:
    docs = documents()
    docs["trademarks"]["entries"][1]["ru"][field] = value
    assert error(tmp_path, docs).startswith(f"{TM}: ru.{field}: ")


def test_at_least_eight_samples_per_language(tmp_path: Path) -> None:
    docs = documents()
    del docs["trademarks"]["entries"][1]["en"]["samples"][7]
    assert error(tmp_path, docs) == f"{TM}: en.samples: 7 phrasings (at least 8)"


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Что " + "я" * 117, "121 characters (max 120)"),
        ("Первая строка\nвторая", "must be one line (it is a menu item)"),
    ],
)
def test_title_length_and_single_line(tmp_path: Path, title: str, expected: str) -> None:
    docs = documents()
    docs["trademarks"]["entries"][1]["ru"]["title"] = "Что " + "я" * 116  # 120: accepted
    load(tmp_path / "ok", docs)
    docs["trademarks"]["entries"][1]["ru"]["title"] = title
    assert error(tmp_path, docs) == f"{TM}: ru.title: {expected}"


def test_answer_length_counts_visible_text_after_parsing(tmp_path: Path) -> None:
    docs = documents()
    # 1500 visible characters with plenty of markup and entities: accepted.
    answer = (
        "<b>" + "가" * 700 + "</b>" + "&lt;" * 100 + '<a href="https://kazpatent.kz">' + "나" * 700
    )
    docs["trademarks"]["entries"][1]["ko"]["answer"] = answer + "</a>\n"
    assert load(tmp_path / "ok", docs).entry("trademark-fees").text("ko").answer_chars == 1500
    docs["trademarks"]["entries"][1]["ko"]["answer"] = answer + "다</a>\n"
    assert (
        error(tmp_path, docs) == f"{TM}: ko.answer: 1501 characters after HTML parsing (max 1500)"
    )


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("<b>Жауап <i>қате</b></i>", "</b>"),
        ("Бір <br> екі қадам", "unsupported tag <br>"),
        ("Тіркеу < 3 ай", 'unescaped "<"'),
        ("Баж &nbsp; төлемі", "unsupported entity &nbsp;"),
        ('<span class="red">Қызыл</span>', "tg-spoiler"),
        ("<b>Жабылмаған қадам", "<b> opened on line 1 is never closed"),
    ],
)
def test_answer_html_must_be_valid_for_telegram(tmp_path: Path, answer: str, reason: str) -> None:
    docs = documents()
    docs["trademarks"]["entries"][1]["kk"]["answer"] = answer
    message = error(tmp_path, docs)
    assert message.startswith(f"{TM}: kk.answer: invalid Telegram HTML: ")
    assert reason in message


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://kazpatent.kz", "links must start with https://"),
        ("https://localhost/x", "no host name with a dot"),
        ("https://kazpatent.kz/ru.", "ends with '.'"),
        ("https://kazpatent.kz/ru)", "ends with ')'"),
        ("https://kazpatent.kz/ru»", "ends with '»'"),
        ("https://kazpatent .kz", "must not contain spaces"),
        ("kazpatent.kz/ru", "links must start with https://"),
    ],
)
def test_links_https_well_formed_without_trailing_punctuation(
    tmp_path: Path, url: str, reason: str
) -> None:
    docs = documents()
    docs["trademarks"]["entries"][1]["sources"].append(url)
    message = error(tmp_path / "source", docs)
    assert message.startswith(f"{TM}: sources[2]: ")
    assert reason in message
    docs = documents()
    docs["trademarks"]["entries"][1]["en"]["answer"] = f'See <a href="{url}">the register</a>.'
    message = error(tmp_path / "href", docs)
    assert message.startswith(f"{TM}: en.answer: link: ")
    assert reason in message


def test_ids_unique_across_files(tmp_path: Path) -> None:
    docs = documents()
    docs["basics"]["entries"].append(factory.entry("trademark-fees"))
    message = error(tmp_path, docs)
    assert message == "trademarks.yaml: entry 'trademark-fees': id: already used in basics.yaml"


@pytest.mark.parametrize("bad_id", ["Trademark-Fees", "trademark_fees", "trademark--fees", "-fees"])
def test_ids_kebab_case(tmp_path: Path, bad_id: str) -> None:
    docs = documents()
    docs["trademarks"]["entries"][1]["id"] = bad_id
    assert error(tmp_path, docs).startswith(f"trademarks.yaml: entry '{bad_id}': id: ")


@pytest.mark.parametrize(
    ("related", "expected"),
    [
        (["about-niip", "trademark-feez"], "related[1]: no entry has the id 'trademark-feez'"),
        (["trademark-fees"], "related[0]: an entry cannot be related to itself"),
        (["about-niip", "about-niip"], "related[1]: 'about-niip' is listed twice"),
    ],
)
def test_related_ids_exist_and_are_not_self(
    tmp_path: Path, related: list[str], expected: str
) -> None:
    docs = documents()
    docs["trademarks"]["entries"][1]["related"] = ["about-niip", "trademark-register"]
    load(tmp_path / "ok", docs)  # cross-file and same-file references are fine
    docs["trademarks"]["entries"][1]["related"] = related
    assert error(tmp_path, docs) == f"{TM}: {expected}"


@pytest.mark.parametrize(
    ("reviewed", "expected"),
    [
        (date(2026, 11, 26), "2026-11-26 is in the future (today is 2026-11-25)"),
        ("2026-11-26", "2026-11-26 is in the future"),
        ("2026-02-30", "'2026-02-30' is not a real date"),
        ("25.11.2026", "expected a date YYYY-MM-DD, got a string"),
        (datetime(2026, 11, 20, 9, 0), "has a time of day"),
        (20261120, "expected a date YYYY-MM-DD, got int"),
    ],
)
def test_reviewed_is_a_real_date_not_in_the_future(
    tmp_path: Path, reviewed: object, expected: str
) -> None:
    docs = documents()
    docs["trademarks"]["entries"][1]["reviewed"] = "2026-11-25"  # a string date, today: accepted
    assert load(tmp_path / "ok", docs).entry("trademark-fees").reviewed == date(2026, 11, 25)
    docs["trademarks"]["entries"][1]["reviewed"] = reviewed
    message = error(tmp_path, docs)
    assert message.startswith(f"{TM}: reviewed: ")
    assert expected in message


def test_impossible_yaml_date_is_reported_on_its_entry(tmp_path: Path) -> None:
    docs = documents()
    text = factory.yaml.safe_dump(docs["trademarks"], allow_unicode=True, sort_keys=False)
    docs_raw: dict[str, object] = dict(docs)
    docs_raw["trademarks"] = text.replace("reviewed: 2026-11-20", "reviewed: 2026-02-30", 1)
    message = error(tmp_path, docs_raw)
    assert (
        message
        == "trademarks.yaml: entry 'trademark-register': reviewed: '2026-02-30' is not a real date"
    )


def test_at_least_one_source(tmp_path: Path) -> None:
    docs = documents()
    docs["trademarks"]["entries"][1]["sources"] = []
    assert error(tmp_path, docs) == f"{TM}: sources: at least one source link is required"


def test_samples_unique_across_all_entries_per_language(tmp_path: Path) -> None:
    docs = documents()
    # The same phrasing in another language is fine.
    docs["basics"]["entries"][0]["en"]["samples"][0] = "trademark fees как 3"
    load(tmp_path / "ok", docs)
    docs["basics"]["entries"][0]["ru"]["samples"][5] = "  Trademark   FEES как 3 "
    message = error(tmp_path, docs)
    assert message == (
        "trademarks.yaml: entry 'trademark-fees': ru.samples[3]: 'trademark fees как 3' "
        "repeats a sample of entry 'about-niip' (basics.yaml)"
    )


def test_samples_unique_within_one_entry(tmp_path: Path) -> None:
    docs = documents()
    docs["trademarks"]["entries"][1]["kk"]["samples"][6] = "Trademark fees қалай 1"
    assert error(tmp_path, docs) == (
        f"{TM}: kk.samples[6]: 'Trademark fees қалай 1' repeats samples[1] of the same entry"
    )


@pytest.mark.parametrize("field", ["title", "answer"])
def test_korean_text_contains_hangul(tmp_path: Path, field: str) -> None:
    docs = documents()
    docs["trademarks"]["entries"][1]["ko"][field] = "Trademark fees (KZT)"
    assert error(tmp_path, docs) == f"{TM}: ko.{field}: Korean text contains no Hangul"


@pytest.mark.parametrize("field", ["title", "answer"])
def test_kazakh_text_contains_a_kazakh_letter(tmp_path: Path, field: str) -> None:
    docs = documents()
    docs["trademarks"]["entries"][1]["kk"][field] = "Пошлина за регистрацию товарного знака"
    message = error(tmp_path, docs)
    assert message.startswith(f"{TM}: kk.{field}: Kazakh text contains no Kazakh letter")
    docs["trademarks"]["entries"][1]["kk"][field] = "ҚАЗПАТЕНТ баждары"  # upper case counts
    load(tmp_path / "ok", docs)


def test_every_canonical_id_present_in_its_category(tmp_path: Path) -> None:
    topics = {**factory.canonical(), "bot-privacy": "this-service", "contacts": "basics"}
    message = error(tmp_path / "missing", documents(), topics)
    assert message == (
        "2 canonical id(s) from topics.md have no entry: bot-privacy (this-service.yaml), "
        "contacts (basics.yaml)"
    )
    topics = {**factory.canonical(), "about-niip": "trademarks"}
    message = error(tmp_path / "moved", documents(), topics)
    assert message == (
        "basics.yaml: entry 'about-niip': category: topics.md puts this canonical id in "
        "trademarks.yaml"
    )


def test_canonical_check_skipped_loudly_without_topics_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = factory.write(tmp_path, documents())
    with caplog.at_level(logging.WARNING, logger="bot.faq"):
        base = load_faq(directory, topics=tmp_path / "absent.md", today=factory.TODAY)
    assert len(base) == 3
    assert "canonical FAQ ids not checked" in caplog.text
    assert "absent.md" in caplog.text


def test_topics_path_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = factory.write(tmp_path, documents())
    topics = factory.write_topics(tmp_path / "t.md", {"bot-privacy": "this-service"})
    monkeypatch.setenv("IPDESK_TOPICS", str(topics))
    with pytest.raises(FaqContentError, match=r"bot-privacy \(this-service.yaml\)"):
        load_faq(directory, today=factory.TODAY)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda t: t.pop("ko"), "trademarks.yaml: title: missing key 'ko'"),
        (lambda t: t.update(en=""), "trademarks.yaml: title.en: is empty"),
        (lambda t: t.update(de="Marken"), "trademarks.yaml: title: unknown key 'de'"),
        (
            lambda t: t.update(ko="Trademarks"),
            "trademarks.yaml: title.ko: Korean text contains no Hangul",
        ),
    ],
)
def test_category_title_in_all_four_languages(tmp_path: Path, change, expected: str) -> None:
    docs = documents()
    change(docs["trademarks"]["title"])
    assert error(tmp_path, docs).startswith(expected)


def test_empty_or_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(FaqContentError, match="no such FAQ directory"):
        load_faq(tmp_path / "nowhere")
    (tmp_path / "faq").mkdir()
    with pytest.raises(FaqContentError, match=r"no \*\.yaml FAQ files"):
        load_faq(tmp_path / "faq")
