"""Text to matching features, the same for FAQ texts and user questions.

- Normalisation: NFKC, case folding, ё→е, a Latin "i" inside a Cyrillic word read as "і", and
  the Kazakh letters folded onto their Russian look-alikes (қ→к, ү→у, і→и ...), because users
  without a Kazakh keyboard type "тиркеу" for "тіркеу".
- Cyrillic and Latin words: the whole word plus its character trigrams with word boundaries
  ("<та", "тау", "ар>" ...), which absorb Kazakh and Russian inflection and typos. (4- and
  5-grams as well were measured no better on the dev set, for half again the index and time.)
- Hangul: common particles are stripped from each word ("상표를" → "상표"), then character
  bigrams and trigrams run over the words joined without spaces, so "상표 등록" and "상표등록"
  give the same features.
- Long texts (answers) get `stem_features`: the first five letters of each word instead of
  n-grams, as good for matching and much cheaper to index.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

__all__ = ["features", "is_hangul", "normalise", "stem_features", "words"]

# Words: runs of letters and digits, Hangul split from other scripts ("NIIP가" → "niip", "가").
_WORD = re.compile(r"[\uac00-\ud7a3]+|[^\W_\uac00-\ud7a3]+")
_HANGUL_WORD = re.compile(r"[\uac00-\ud7a3]+")
_LATIN_I_IN_CYRILLIC = re.compile(r"(?<=[\u0400-\u04ff])i|i(?=[\u0400-\u04ff])")
_FOLD = str.maketrans("ёәғқңөұүһі", "еагкноуухи")
# On normalised text (қ→к); a Korean particle may follow ("브랜드.kz를").
_KZ_DOMAIN = re.compile(r"(?<=[^\W_])\.(?:kz|каз)(?![0-9a-z\u0400-\u04ff])")
# Stripped longest first, and only when at least two syllables remain ("차이" keeps its "이").
_PARTICLES = frozenset(
    (
        "에서는 에서도 으로는 으로도 에게서 이라도 까지는 부터는 에서 에게 한테 으로 이랑 "
        "하고 처럼 보다 까지 부터 마다 조차 밖에 라도 이나 에는 에도 로는 와는 과는 "
        "은 는 이 가 을 를 에 의 도 만 로 와 과 랑"
    ).split()
)
_PARTICLE_LENGTHS = tuple(sorted({len(p) for p in _PARTICLES}, reverse=True))
_NGRAMS = (3,)
_HANGUL_NGRAMS = (2, 3)
_STEM = 5  # letters kept of a Cyrillic or Latin word by `stem_features`


def normalise(text: str) -> str:
    """Case-folded, NFKC, ё→е, Kazakh letters folded onto Russian ones."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _LATIN_I_IN_CYRILLIC.sub("і", text)
    return text.translate(_FOLD)


def words(text: str) -> list[str]:
    """The normalised words of `text` (letters and digits); a .kz / .қаз domain name
    ("brand.kz") also gives the word "kzdomain", so that it reads as a domain question."""
    return _WORD.findall(_KZ_DOMAIN.sub(" kzdomain ", normalise(text)))


def is_hangul(word: str) -> bool:
    return _HANGUL_WORD.fullmatch(word) is not None


def strip_particle(word: str) -> str:
    for length in _PARTICLE_LENGTHS:
        if len(word) - length >= 2 and word[-length:] in _PARTICLES:
            return word[:-length]
    return word


def _word_features(word: str) -> tuple[str, ...]:
    """The word itself and its character n-grams with boundary marks."""
    padded = f"<{word}>"
    grams = [padded[i : i + n] for n in _NGRAMS for i in range(len(padded) - n + 1)]
    return ("w:" + word, *grams)


def _hangul_ngrams(joined: str) -> Iterable[str]:
    for n in _HANGUL_NGRAMS:
        for i in range(len(joined) - n + 1):
            yield joined[i : i + n]


def features(
    tokens: Iterable[str], cache: dict[str, tuple[str, ...]] | None = None
) -> dict[str, float]:
    """Sublinear term frequencies (1 + ln tf) of the features of normalised `tokens`.

    `cache` (word -> its features) saves recomputing the n-grams of repeated words when many
    texts are indexed at once.
    """
    counts: Counter[str] = Counter()
    hangul: list[str] = []
    for token in tokens:
        if is_hangul(token):
            stem = strip_particle(token)
            hangul.append(stem)
            counts["w:" + stem] += 1
        elif len(token) >= 2:
            grams = cache.get(token) if cache is not None else None
            if grams is None:
                grams = _word_features(token)
                if cache is not None:
                    cache[token] = grams
            counts.update(grams)
    if hangul:
        counts.update("k:" + gram for gram in _hangul_ngrams("".join(hangul)))
    return {feature: 1.0 + math.log(n) if n > 1 else 1.0 for feature, n in counts.items()}


def stem_features(tokens: Iterable[str]) -> dict[str, float]:
    """Cheaper features for long texts (answers): word stems (first letters) instead of
    n-grams, Hangul as in `features`."""
    counts: Counter[str] = Counter()
    hangul: list[str] = []
    for token in tokens:
        if is_hangul(token):
            stem = strip_particle(token)
            hangul.append(stem)
            counts["w:" + stem] += 1
        elif len(token) >= 2:
            counts["s:" + token[:_STEM]] += 1
    if hangul:
        counts.update("k:" + gram for gram in _hangul_ngrams("".join(hangul)))
    return {feature: 1.0 + math.log(n) if n > 1 else 1.0 for feature, n in counts.items()}
