"""The free-text matcher, without aiogram: language, greetings, inflection, outcomes, CLI."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from types import MappingProxyType

import pytest

from bot.faq.cli import faq_directory
from bot.faq.content import LANGUAGES, FaqBase, FaqCategory, FaqEntry, LocalizedText, load_faq
from bot.faq.langdetect import LanguageDetector, detect_language
from bot.faq.match import FaqMatcher, MatchConfig, Outcome, run_match
from bot.faq.match.greetings import is_greeting, strip_greetings
from bot.faq.match.lexicon import Lexicon
from bot.faq.match.text import features, normalise, words

from . import factory

REPO = Path(__file__).resolve().parents[2]

# A small base in four languages, written like the real one (titles, user-like samples).
ENTRIES: dict[str, dict[str, tuple[str, list[str], str]]] = {
    "trademark-register": {
        "kk": (
            "Тауар белгісін қалай тіркеуге болады?",
            ["тауар белгісін тіркеу", "брендті Қазақстанда тіркеу", "белгіге өтінім беру"],
            "Өтінім ҰЗМИ-ге беріледі, тіркеу 8–10 ай алады.",
        ),
        "ru": (
            "Как зарегистрировать товарный знак?",
            [
                "регистрация товарного знака",
                "как подать заявку на бренд",
                "оформить торговую марку",
            ],
            "Заявка подаётся в НИИС, регистрация занимает 8–10 месяцев.",
        ),
        "ko": (
            "상표는 어떻게 등록하나요?",
            ["카자흐스탄 상표 등록", "브랜드 출원 절차", "상표 출원 방법"],
            "출원은 NIIP에 하며 등록까지 8–10개월이 걸립니다.",
        ),
        "en": (
            "How do we register a trademark?",
            ["register a trademark", "trademark application steps", "file our brand"],
            "File with NIIP; registration takes 8–10 months.",
        ),
    },
    "trademark-fees": {
        "kk": (
            "Тауар белгісін тіркеу қанша тұрады?",
            ["тауар белгісінің бағасы", "тіркеу алымы қанша", "белгіні ұзарту ақысы"],
            "Төлемдер ҰЗМИ прейскуранты бойынша.",
        ),
        "ru": (
            "Сколько стоит регистрация товарного знака?",
            ["пошлина за товарный знак", "стоимость регистрации бренда", "цена продления знака"],
            "Пошлины — по прейскуранту НИИС.",
        ),
        "ko": (
            "상표 등록 비용은 얼마인가요?",
            ["상표 수수료", "상표 출원 비용", "상표 갱신 비용"],
            "수수료는 NIIP 가격표를 따릅니다.",
        ),
        "en": (
            "What does trademark registration cost?",
            ["trademark fees", "cost of registering a brand", "renewal fee for a mark"],
            "Fees follow the NIIP price list.",
        ),
    },
    "patent-invention": {
        "kk": (
            "Өнертабысқа патент қалай алуға болады?",
            ["өнертабысқа патент алу", "патент қанша жыл жарамды", "өнертабысты патенттеу"],
            "Патент 20 жыл жарамды.",
        ),
        "ru": (
            "Как получить патент на изобретение?",
            ["патент на изобретение", "сколько действует патент", "запатентовать изобретение"],
            "Патент действует 20 лет.",
        ),
        "ko": (
            "발명 특허는 어떻게 받나요?",
            ["발명 특허 출원", "특허 존속기간", "특허 받는 방법"],
            "특허는 20년간 유효합니다.",
        ),
        "en": (
            "How do we patent an invention?",
            ["patent an invention", "how long does a patent last", "invention patent procedure"],
            "A patent lasts 20 years.",
        ),
    },
    "copyright-basics": {
        "kk": (
            "Авторлық құқық нені қорғайды?",
            [
                "авторлық құқық қашан пайда болады",
                "авторлық құқықтың мерзімі",
                "бағдарламаға құқық",
            ],
            "Авторлық құқық шығарма жасалғанда пайда болады.",
        ),
        "ru": (
            "Что охраняет авторское право?",
            ["когда возникает авторское право", "срок авторского права", "авторское право на софт"],
            "Авторское право возникает с момента создания произведения.",
        ),
        "ko": (
            "저작권은 무엇을 보호하나요?",
            ["저작권 발생 시점", "저작권 보호기간", "소프트웨어 저작권"],
            "저작권은 창작과 동시에 발생합니다.",
        ),
        "en": (
            "What does copyright protect?",
            ["when does copyright arise", "copyright term", "software copyright"],
            "Copyright arises when the work is created.",
        ),
    },
    "customs-register": {
        "kk": (
            "Тауар белгісін кедендік тізілімге қалай енгіземіз?",
            ["кедендік тізілім", "кедендегі контрафакт", "кеденге бренд тіркеу"],
            "Кеден тізілімге енгізілген белгілерді тексереді.",
        ),
        "ru": (
            "Как внести знак в таможенный реестр?",
            ["таможенный реестр ИС", "таможня и контрафакт", "включить бренд в реестр таможни"],
            "Таможня проверяет знаки из реестра.",
        ),
        "ko": (
            "세관 등록은 어떻게 하나요?",
            ["세관 지식재산권 등록", "세관 위조품 단속", "세관에 상표 등록"],
            "세관은 등록된 상표를 확인합니다.",
        ),
        "en": (
            "How do we record our mark with customs?",
            ["customs IP register", "customs and counterfeits", "record a brand with customs"],
            "Customs checks recorded marks.",
        ),
    },
    "bot-privacy": {
        "kk": (
            "Бот қандай деректерімді сақтайды?",
            ["деректерімді жою", "бот қандай ақпарат сақтайды", "жеке деректер"],
            "Бот хабарламаларды сақтайды; жоюды сұрауға болады.",
        ),
        "ru": (
            "Какие мои данные хранит бот?",
            ["удалить мои данные", "какие данные хранит бот", "персональные данные в боте"],
            "Бот хранит сообщения; их можно удалить по запросу.",
        ),
        "ko": (
            "봇은 어떤 개인정보를 보관하나요?",
            ["내 데이터 삭제", "봇 개인정보 보관", "개인정보 처리"],
            "봇은 메시지를 보관하며 삭제를 요청할 수 있습니다.",
        ),
        "en": (
            "What data does this bot keep?",
            ["delete my data", "what does the bot store", "personal data in the bot"],
            "The bot keeps messages; you can ask for deletion.",
        ),
    },
}


def small_base() -> FaqBase:
    entries = tuple(
        FaqEntry(
            id=entry_id,
            category="basics",
            reviewed=date(2026, 11, 25),
            sources=("https://qazpatent.kz",),
            related=(),
            texts=MappingProxyType(
                {
                    lang: LocalizedText(title, tuple(samples), answer, len(answer))
                    for lang, (title, samples, answer) in texts.items()
                }
            ),
        )
        for entry_id, texts in ENTRIES.items()
    )
    category = FaqCategory("basics", MappingProxyType(dict.fromkeys(LANGUAGES, "FAQ")), entries)
    return FaqBase((category,), entries, MappingProxyType({e.id: e for e in entries}))


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector.create()


@pytest.fixture(scope="module")
def matcher(detector: LanguageDetector) -> FaqMatcher:
    return FaqMatcher.build(small_base(), detector=detector)


# --- language detection -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "hint", "expected"),
    [
        ("상표 등록 얼마나 걸려요?", None, "ko"),
        ("상표등록비용얼마예요", None, "ko"),  # Korean without spaces
        ("NIIP가 뭐예요", "en", "ko"),  # Hangul with a Latin acronym
        ("тауар белгісін қалай тіркеймін", None, "kk"),
        ("как тіркеу товарный знак в РК", "ru", "kk"),  # a Kazakh letter amid Russian words
        ("тауар белгiсiн тiркеу", None, "kk"),  # Latin "i" typed for "і"
        ("патент алу керек пе", None, "kk"),  # no Kazakh letter, but Kazakh words
        ("бренд тиркеу канша турады", "ru", "kk"),
        ("как зарегистрировать товарный знак", None, "ru"),
        ("зарегестрировать таварный знак", None, "ru"),  # typos
        ("patent prosecution highway корея казахстан", None, "ru"),  # Latin terms in Russian
        ("How do I register a trademark?", "ru", "en"),  # a clear text ignores the hint
        ("trademrak registraton", None, "en"),
    ],
)
def test_detect_language(
    detector: LanguageDetector, text: str, hint: str | None, expected: str
) -> None:
    assert detector.detect(text, hint) == expected


@pytest.mark.parametrize(
    ("text", "hint", "expected"),
    [
        ("ok", "ru", "ru"),
        ("ok", None, "en"),
        ("?", "kk", "kk"),
        ("👍", "ko", "ko"),
        ("", None, "en"),
        ("да", "kk", "kk"),  # too short for lingua: the chosen language
        ("да", "ru", "ru"),
        ("12345", "xx", "en"),  # an unknown hint is no language
    ],
)
def test_short_or_letterless_text_takes_the_hint(
    detector: LanguageDetector, text: str, hint: str | None, expected: str
) -> None:
    assert detector.detect(text, hint) == expected


def test_detect_language_shares_one_detector() -> None:
    assert detect_language("상표") == "ko"
    assert detect_language("товарный знак", "kk") == "ru"


def test_detector_is_frozen(detector: LanguageDetector) -> None:
    with pytest.raises(AttributeError):
        detector.lingua = None  # type: ignore[misc]


# --- text features ----------------------------------------------------------------------------


def test_normalise_folds_kazakh_letters_and_yo() -> None:
    assert normalise("Тіркеу ҚАНША Ұзарту Ёлка") == "тиркеу канша узарту елка"
    assert normalise("тiркеу") == "тиркеу"  # Latin i inside a Cyrillic word


def test_korean_spacing_and_particles_give_the_same_ngrams() -> None:
    def grams(text: str) -> set[str]:
        return {f for f in features(words(text)) if f.startswith("k:")}

    assert grams("상표를 등록") == grams("상표 등록") == grams("상표등록")
    assert grams("카자흐스탄에서 상표") == grams("카자흐스탄 상표")
    assert "w:상표" in features(words("상표를"))
    assert "w:차이" in features(words("차이"))  # a noun ending like a particle keeps it


def test_words_split_scripts() -> None:
    assert words("NIIP가 뭐예요?") == ["niip", "가", "뭐예요"]


def test_lexicon_names_concepts_across_languages() -> None:
    lexicon = Lexicon.parse()
    assert {"counterfeit", "trademark"} <= lexicon.concepts(words("продают фейки нашего бренда"))
    assert "counterfeit" in lexicon.concepts(words("짝퉁 판매"))
    assert "counterfeit" in lexicon.concepts(words("жалған тауар сатылып жатыр"))
    assert "counterfeit" in lexicon.concepts(words("knockoffs everywhere"))
    assert "utility_model" in lexicon.concepts(words("патент на полезку"))
    assert "fee" not in lexicon.concepts(words("상표 등록 얼마나 걸려요"))  # 얼마나 ≠ 얼마
    assert "court" not in lexicon.concepts(words("сотрудник"))  # kk "сот" is no prefix of it
    assert lexicon.concepts(words("погода в алматы")) == set()


def test_lexicon_rejects_a_malformed_name() -> None:
    with pytest.raises(ValueError, match="not one word"):
        Lexicon.parse("broken\n  en: a-b* | c\n")


# --- greetings --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "привет",
        "Здравствуйте!",
        "спасибо большое",
        "Сәлеметсіз бе!",
        "салем",
        "рахмет",
        "көп рахмет",
        "안녕하세요",
        "감사합니다!!",
        "hi",
        "Thanks a lot :)",
        "thank you very much",
        "hello there, thanks",
    ],
)
def test_greetings_and_thanks(matcher: FaqMatcher, text: str) -> None:
    assert is_greeting(words(text))
    result = matcher.match(text)
    assert result.outcome is Outcome.GREETING
    assert result.id is None
    assert len(result.top) == 3


def test_a_question_wrapped_in_greetings_is_a_question(matcher: FaqMatcher) -> None:
    tokens = words("Здравствуйте! Как зарегистрировать товарный знак? Спасибо")
    assert not is_greeting(tokens)
    assert strip_greetings(tokens) == ["как", "зарегистрировать", "товарный", "знак"]
    result = matcher.match("Здравствуйте! Как зарегистрировать товарный знак? Спасибо")
    assert result.outcome is Outcome.ANSWER
    assert result.id == "trademark-register"


# --- outcomes ---------------------------------------------------------------------------------


def test_confident_answer(matcher: FaqMatcher) -> None:
    result = matcher.match("how much does trademark registration cost")
    assert result.outcome is Outcome.ANSWER
    assert result.id == "trademark-fees"
    assert result.top[0] == "trademark-fees"
    assert result.lang == "en"
    assert 0.0 < result.score <= 1.0


def test_ambiguous_gives_top_three_without_an_id(matcher: FaqMatcher) -> None:
    result = matcher.match("how much is a patent or a trademark")  # patent or trademark fees?
    assert result.outcome is Outcome.AMBIGUOUS
    assert result.id is None
    assert result.lang == "en"
    assert set(result.top[:2]) == {"trademark-fees", "patent-invention"}
    assert len(result.top) == 3


@pytest.mark.parametrize(
    "text",
    [
        "какая погода завтра в алматы",
        "ертең ауа райы қандай",
        "내일 날씨 어때요",
        "who won the football world cup",
        "",
        "???",
    ],
)
def test_nothing_good(matcher: FaqMatcher, text: str) -> None:
    result = matcher.match(text)
    assert result.outcome is Outcome.NONE
    assert result.id is None
    assert len(result.top) == 3
    assert 0.0 <= result.score < MatchConfig().ambiguous_threshold


@pytest.mark.parametrize(
    "text",
    [
        "how do I register a company in kazakhstan",  # near the domain, but no entry
        "как зарегистрировать ТОО",
        "нужна ли виза для регистрации",
        "жеке кәсіпкер ретінде тіркелу",
        "법인 설립 등록 비용",
    ],
)
def test_neighbouring_subjects_get_no_answer(matcher: FaqMatcher, text: str) -> None:
    result = matcher.match(text)
    assert result.id is None
    assert result.outcome in (Outcome.NONE, Outcome.AMBIGUOUS)


def test_a_neighbouring_word_beside_an_ip_subject_still_answers(matcher: FaqMatcher) -> None:
    assert matcher.match("do trademark fees include VAT, how much is it").id == "trademark-fees"


def test_outcome_thresholds_come_from_the_config(detector: LanguageDetector) -> None:
    strict = FaqMatcher.build(
        small_base(), detector=detector, config=MatchConfig(answer_threshold=2.0)
    )
    result = strict.match("how much does trademark registration cost")
    assert result.outcome is Outcome.AMBIGUOUS
    assert result.id is None


# --- inflection, particles, typos ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "регистрацией товарных знаков",  # Russian cases
        "о регистрации товарного знака",
        "зарегистрировали бы товарный знак",
        "тауар белгілерін тіркеудің жолы",  # Kazakh suffixes
        "тауар белгісін тіркеймін",
        "тауар белгисин тиркеу",  # without Kazakh letters
        "상표를 등록하려면",  # Korean particles
        "상표등록절차",  # Korean without spaces
        "registering trademarks",
        "trademrak registraton",  # typos
        "зарегестрировать товарный знак",
    ],
)
def test_inflected_forms_find_the_entry(matcher: FaqMatcher, text: str) -> None:
    assert matcher.match(text).top[0] == "trademark-register"


def test_matching_follows_the_detected_language(matcher: FaqMatcher) -> None:
    result = matcher.match("сколько стоит патент на изобретение", "en")
    assert result.lang == "ru"
    assert result.top[0] == "patent-invention"


def test_matcher_is_frozen(matcher: FaqMatcher) -> None:
    with pytest.raises(AttributeError):
        matcher.config = MatchConfig()  # type: ignore[misc]


# --- the real base: the issue's examples --------------------------------------------------------


@pytest.fixture(scope="module")
def real_matcher(detector: LanguageDetector) -> FaqMatcher:
    return FaqMatcher.build(load_faq(faq_directory()), detector=detector)


@pytest.mark.parametrize(
    ("text", "lang", "entry"),
    [
        ("상표 등록 얼마나 걸려요?", "ko", "trademark-register"),
        ("тауар белгісін қалай тіркеймін", "kk", "trademark-register"),
    ],
)
def test_issue_examples_are_answered(
    real_matcher: FaqMatcher, text: str, lang: str, entry: str
) -> None:
    result = real_matcher.match(text)
    assert (result.outcome, result.id, result.lang) == (Outcome.ANSWER, entry, lang)


# --- CLI ----------------------------------------------------------------------------------------


def test_run_match_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    faq = factory.write(tmp_path, factory.documents())
    topics = factory.write_topics(tmp_path / "topics.md", factory.canonical())
    monkeypatch.setenv("IPDESK_TOPICS", str(topics))
    stdin = io.StringIO(
        '{"text": "trademark fees how 3"}\n'
        "\n"
        "{broken\n"
        '{"text": "hi", "lang": "ko"}\n'
        '{"text": 5}\n'
        '["text"]\n'
        '{"text": "x", "lang": 7}\n'
        + '{"text": '
        + "[" * 1500
        + "]" * 1500
        + "}\n"  # too deep for the decoder
        + '{"n": '
        + "9" * 5000
        + "}\n"  # too long a number
        + '{"text": "trademark fees how 3"}\n'  # and the loop goes on
    )
    stdout = io.StringIO()
    assert run_match(stdin, stdout, faq) == 0
    lines = [json.loads(line) for line in stdout.getvalue().splitlines()]
    assert lines[0]["id"] == "trademark-fees"
    assert set(lines[0]) == {"id", "score", "lang", "top"}
    assert lines[0]["top"][0] == "trademark-fees" and len(lines[0]["top"]) == 3
    assert set(lines[1]) == {"error"}  # the blank line was skipped
    assert lines[2] == {
        "id": None,
        "score": 0.0,
        "lang": "ko",  # too short to detect: the hint
        "top": ["about-niip", "trademark-register", "trademark-fees"],  # a greeting: base order
    }
    assert [set(line) for line in lines[3:-1]] == [{"error"}] * 5
    assert lines[-1]["id"] == "trademark-fees"


def match_environment(tmp_path: Path) -> dict[str, str]:
    factory.write(tmp_path, factory.documents())
    env = {
        **os.environ,
        "LOCALES_DIR": str(tmp_path),
        "IPDESK_TOPICS": str(factory.write_topics(tmp_path / "topics.md", factory.canonical())),
        "PYTHONPATH": str(REPO),
    }
    env.pop("BOT_TOKEN", None)
    return env


def test_faq_match_stops_quietly_when_its_reader_goes_away(tmp_path: Path) -> None:
    """`... | python -m bot faq match | head -1`: no traceback when the pipe closes."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "faq", "match"],
        cwd=REPO,
        env=match_environment(tmp_path),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write('{"text": "trademark fees how 3"}\n' * 1000)
    process.stdin.close()
    assert json.loads(process.stdout.readline())["id"] == "trademark-fees"
    process.stdout.close()  # as `head -1` does
    assert process.wait(timeout=60) == 1
    assert process.stderr is not None and "Traceback" not in process.stderr.read()


def test_faq_match_subprocess_answers_each_line_as_it_comes(tmp_path: Path) -> None:
    env = match_environment(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "faq", "match"],
        cwd=REPO,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        # Each answer must arrive while stdin is still open: the output is flushed per line.
        process.stdin.write('{"text": "trademark register how 5", "lang": "en"}\n')
        process.stdin.flush()
        first = json.loads(process.stdout.readline())
        assert first["id"] == "trademark-register"
        assert first["lang"] == "en"
        assert len(first["top"]) == 3

        process.stdin.write("this is not json\n")
        process.stdin.flush()
        assert set(json.loads(process.stdout.readline())) == {"error"}

        process.stdin.write('{"text": "спасибо"}\n')
        process.stdin.flush()
        thanks = json.loads(process.stdout.readline())
        assert thanks["id"] is None and thanks["lang"] == "ru" and len(thanks["top"]) == 3
    finally:
        process.stdin.close()
    assert process.wait(timeout=60) == 0
    assert process.stdout.read() == ""
