"""Which of kk, ru, ko, en a user's free text is written in. Knows nothing of aiogram.

The script decides most cases on its own: any Hangul means Korean; a Kazakh-only letter
(ә ғ қ ң ө ұ ү һ і, or a Latin "i" typed inside a Cyrillic word, as on keyboards without
Kazakh letters) means Kazakh, even amid Russian words; Latin letters mean English unless at
least a quarter of the letters are Cyrillic (Russian and Kazakh users type terms such as "PCT"
or "patent prosecution highway" in Latin; English users hardly ever type Cyrillic). Cyrillic
text without a Kazakh letter is Kazakh if it has a frequent Kazakh-only word ("канша",
"калай", the particle "ма" ...); the rest is left to lingua, restricted to Kazakh and Russian.
Text with too few letters to judge gets the user's chosen language (`hint`), else English.

lingua runs in its low-accuracy mode (trigram models only): for the one question it is asked
here, kk or ru, it is as right as the high-accuracy mode on our dev set, and it costs ≈ 30 ms
and ≈ 10 MB to load instead of ≈ 0.4 s and ≈ 65 MB (see `bench/faq.py`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from lingua import Language, LanguageDetectorBuilder
from lingua import LanguageDetector as LinguaDetector

__all__ = ["FALLBACK", "LANGUAGES", "LanguageDetector", "default_detector", "detect_language"]

LANGUAGES: tuple[str, ...] = ("kk", "ru", "ko", "en")
FALLBACK = "en"
# Fewer letters than this (e.g. "ok", "?", "да") carry no reliable signal: the hint decides.
MIN_LETTERS = 3
# Below this lingua confidence in its kk/ru choice, a kk or ru hint wins.
MIN_CONFIDENCE = 0.75

_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_KAZAKH = re.compile(r"[әғқңөұүһіӘҒҚҢӨҰҮҺІ]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[a-zA-Z]")
# A Latin i/I touching a Cyrillic letter: "тiркеу" typed without a Kazakh keyboard.
_LATIN_I_IN_CYRILLIC = re.compile(r"(?<=[\u0400-\u04ff])[iI]|[iI](?=[\u0400-\u04ff])")
_CYRILLIC_WORDS = re.compile(r"[\u0400-\u04ff]+(?:[-'][\u0400-\u04ff]+)*")
_LINGUA_CODES = {Language.KAZAKH: "kk", Language.RUSSIAN: "ru"}
# Frequent Kazakh words that are no Russian words, as typed without Kazakh letters (қ→к,
# і→и, ұ/ү→у, ...): question particles, question words, postpositions, pronouns.
_KAZAKH_WORDS = frozenset(
    "ма ме ба бе па пе канша калай кандай кайда кайсы кашан неше нени неге кимге керек кажет "
    "ушин туралы бойынша деген жок немесе жане бола болады болмайды алу беру кейин дейин "
    "биз биздин бизге сиз сиздин сизге менин маган казир бугин ертен рахмет салем".split()
)


@dataclass(frozen=True, slots=True)
class LanguageDetector:
    """Script rules plus a kk/ru lingua detector, built once and shared (it is thread-safe)."""

    lingua: LinguaDetector

    @classmethod
    def create(cls, *, accurate: bool = False, preload: bool = True) -> LanguageDetector:
        """`accurate` loads lingua's larger n-gram models (≈ 0.4 s, ≈ 65 MB for kk and ru)."""
        builder = LanguageDetectorBuilder.from_languages(Language.KAZAKH, Language.RUSSIAN)
        if not accurate:
            builder = builder.with_low_accuracy_mode()
        if preload:
            builder = builder.with_preloaded_language_models()
        return cls(builder.build())

    def detect(self, text: str, hint: str | None = None) -> str:
        """One of LANGUAGES; `hint` (the user's chosen language) only settles unclear text."""
        fallback = hint if hint in LANGUAGES else FALLBACK
        text = unicodedata.normalize("NFC", text)
        if _HANGUL.search(text):
            return "ko"
        if _KAZAKH.search(text) or _LATIN_I_IN_CYRILLIC.search(text):
            return "kk"
        cyrillic = len(_CYRILLIC.findall(text))
        latin = len(_LATIN.findall(text))
        if cyrillic + latin < MIN_LETTERS:
            return fallback
        if cyrillic < MIN_LETTERS or latin > 3 * cyrillic:
            return "en"
        words = _CYRILLIC_WORDS.findall(text.lower())
        if not _KAZAKH_WORDS.isdisjoint(words):
            return "kk"
        return self._kazakh_or_russian(" ".join(words), hint)

    def _kazakh_or_russian(self, cyrillic: str, hint: str | None) -> str:
        values = self.lingua.compute_language_confidence_values(cyrillic)
        best = values[0] if values else None
        if best is None or best.value < MIN_CONFIDENCE:
            if hint in ("kk", "ru"):
                return hint
            if best is None:
                return "ru"
        return _LINGUA_CODES[best.language]


@cache
def default_detector() -> LanguageDetector:
    """The process's shared detector, built on first use (lingua models are read-only)."""
    return LanguageDetector.create()


def detect_language(text: str, hint: str | None = None) -> str:
    """`LanguageDetector.detect` with the shared detector."""
    return default_detector().detect(text, hint)
