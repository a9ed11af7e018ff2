"""Greetings, thanks and pleasantries in kk, ru, ko, en, recognised on normalised words.

A message made only of such phrases ("Сәлеметсіз бе!", "спасибо большое", "안녕하세요",
"thanks a lot") is a greeting; a question that merely opens or closes with one
("Здравствуйте, как продлить знак? Спасибо") is matched without them.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.faq.match.text import words

__all__ = ["is_greeting", "strip_greetings"]

_PHRASES_TEXT = """
привет | приветик | приветствую | здравствуйте | здравствуй | здрасте | здрасьте | добрый день
доброе утро | добрый вечер | доброго дня | хорошего дня | спасибо | спасибо большое
большое спасибо | огромное спасибо | благодарю | спс | пасиб | пасибо | до свидания | пока
всего доброго | хорошо | ок | окей | понятно | ясно | отлично | супер | пожалуйста | мерси
салам | салем | ассаламу алейкум | ассаламуалейкум
сәлем | сәлеметсіз бе | сәлеметсіздер ме | сәлеметсіз | сәлеметсізбе | салеметсиз бе
қайырлы таң | қайырлы күн | қайырлы кеш | рахмет | рақмет | рахмет сізге | көп рахмет
үлкен рахмет | сау болыңыз | сау бол | жақсы | түсінікті | ассалаумағалейкум | армысыз
амансыз ба | өтінемін
안녕 | 안녕하세요 | 안녕하십니까 | 감사합니다 | 감사해요 | 감사 | 고맙습니다 | 고마워요 | 고마워
수고하세요 | 수고하셨습니다 | 반갑습니다 | 반가워요 | 좋은 아침 | 네 | 알겠습니다 | 알겠어요
좋아요 | 잘 부탁드립니다 | 안녕히 계세요
hi | hello | hey | hiya | greetings | good morning | good afternoon | good evening | good day
thanks | thank you | thank you very much | thank you so much | thanks a lot | many thanks
thx | ty | cheers | bye | goodbye | ok | okay | great | cool | please | much appreciated
appreciate it | hi there | hello there
"""

# Normalised word tuples, longest first so that "thank you very much" beats "thank you".
_PHRASES: tuple[tuple[str, ...], ...] = tuple(
    sorted(
        {tuple(words(p)) for p in _PHRASES_TEXT.replace("\n", "|").split("|") if p.strip()},
        key=len,
        reverse=True,
    )
)


def _index(position: int) -> dict[str, tuple[tuple[str, ...], ...]]:
    """The phrases by their first (0) or last (-1) word, longest first."""
    index: dict[str, list[tuple[str, ...]]] = {}
    for phrase in _PHRASES:
        index.setdefault(phrase[position], []).append(phrase)
    return {word: tuple(phrases) for word, phrases in index.items()}


_BY_FIRST = _index(0)
_BY_LAST = _index(-1)


def _leading(tokens: Sequence[str]) -> int:
    """How many of the first `tokens` form greeting phrases."""
    start = 0
    while start < len(tokens):
        for phrase in _BY_FIRST.get(tokens[start], ()):
            if tuple(tokens[start : start + len(phrase)]) == phrase:
                start += len(phrase)
                break
        else:
            break
    return start


def _trailing(tokens: Sequence[str]) -> int:
    """How many of the last `tokens` form greeting phrases."""
    end = len(tokens)
    while end > 0:
        for phrase in _BY_LAST.get(tokens[end - 1], ()):
            if end >= len(phrase) and tuple(tokens[end - len(phrase) : end]) == phrase:
                end -= len(phrase)
                break
        else:
            break
    return len(tokens) - end


def is_greeting(tokens: Sequence[str]) -> bool:
    """True if normalised `tokens` are nothing but greetings and thanks (and not empty)."""
    return bool(tokens) and _leading(tokens) == len(tokens)


def strip_greetings(tokens: Sequence[str]) -> list[str]:
    """`tokens` without the greeting phrases they open and close with."""
    head = _leading(tokens)
    rest = tokens[head:]
    return list(rest[: len(rest) - _trailing(rest)])
