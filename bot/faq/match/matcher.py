"""Free-text questions to FAQ entries: an offline retriever, pure Python, ≈ 1 ms a question.

A question's score for an entry (0..1) is a weighted sum of five similarities:
- in the question's language, over TF-IDF vectors of character n-grams (`text.features`):
  its best cosine with one of the entry's phrasings (title or sample), and its cosine with
  the entry's profile (all its phrasings together);
- its cosine with the entry's answer, over word stems;
- over the domain concepts the texts name (`lexicon`, the same in all four languages): the
  IDF-weighted share of the question's concepts that the entry's phrasings name, and the
  best concept match (F1) with one phrasing in any language.
IDF is counted over entries and dampened (square root), so a feature that many entries share
("how", "Kazakhstan", "қалай") weighs little, and a feature no entry knows ("visa",
"weather") weighs most and pulls every cosine down. A question naming no IP-specific concept
(only "how much", "how long", "court" ...) has its scores scaled down, more so when it names
a neighbouring subject (company registration, visas, taxes ...): off-topic questions score
low.

Then, from the best score and its lead over the second: confident → `answer`; close call or
middling score → `ambiguous` (the top 3 to choose from); low → `none`. Greetings and thanks
on their own → `greeting`. Weights and thresholds are tuned on tests/data/faq_dev.jsonl
(`bench/faq.py` reports the figures).
"""

from __future__ import annotations

import math
from array import array
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import TypeAlias

from bot.faq.content import LANGUAGES, FaqBase
from bot.faq.langdetect import LanguageDetector, default_detector
from bot.faq.match.greetings import is_greeting, strip_greetings
from bot.faq.match.lexicon import Lexicon
from bot.faq.match.text import features, stem_features, words
from bot.faq.telegram_html import parse_telegram_html, visible_text

__all__ = ["FaqMatcher", "MatchConfig", "MatchResult", "Outcome"]

TOP = 3
# An entry names a concept fully once this many of its phrasings (all languages) do.
CONCEPT_SATURATION = 3

# feature -> (document indexes, weights): the inverted index of normalised vectors, in
# compact arrays (a tuple per posting would take some 40 MB more)
Postings: TypeAlias = "Mapping[str, tuple[array[int], array[float]]]"


class Outcome(StrEnum):
    ANSWER = "answer"  # confident: show the entry
    AMBIGUOUS = "ambiguous"  # offer `top` as choices
    NONE = "none"  # nothing good: "I'm not sure", menu and staff
    GREETING = "greeting"  # hello / thanks: a short friendly reply


@dataclass(frozen=True, slots=True)
class MatchResult:
    id: str | None  # the entry, only when outcome is ANSWER
    score: float  # the best entry's score, 0..1
    lang: str  # detected language of the question (kk, ru, ko, en)
    top: tuple[str, ...]  # the best 3 entry ids, best first (always 3 when the base has 3)
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class MatchConfig:
    """Weights of the five similarities and the decision thresholds (tuned on the dev set)."""

    phrase_weight: float = 0.25  # best cosine with one phrasing (n-grams, same language)
    profile_weight: float = 0.15  # cosine with all phrasings together
    answer_weight: float = 0.15  # cosine with the answer (word stems)
    concept_weight: float = 0.2  # share of the question's concepts the entry names
    concept_phrase_weight: float = 0.25  # best concept match with one phrasing (any language)
    # Confident when best + lead_weight * (best - second) reaches answer_threshold and best is
    # at least min_answer_score: a clear lead makes up for a lower score, and vice versa.
    answer_threshold: float = 0.62
    lead_weight: float = 1.5
    min_answer_score: float = 0.35
    ambiguous_threshold: float = 0.25  # below this: nothing good
    # Scale the scores of a question that names no IP-specific concept ...
    unanchored_factor: float = 0.75
    off_topic_factor: float = 0.4  # ... and one that names a neighbouring subject instead


@dataclass(frozen=True, slots=True)
class _Field:
    """Normalised TF-IDF document vectors, inverted, and the IDF to weigh a question with."""

    idf: Mapping[str, float]
    unknown_idf: float  # the weight of a feature no document has
    postings: Postings


@dataclass(frozen=True, slots=True)
class _Concepts:
    """Which concepts each entry's phrasings name (0..1, saturating), and their IDF."""

    presence: tuple[Mapping[str, float], ...]  # per entry
    idf: Mapping[str, float]
    unknown_idf: float
    phrases: tuple[tuple[int, frozenset[str]], ...]  # (entry, concepts) of every phrasing

    def best_phrase(self, concepts: set[str]) -> list[float]:
        """Per entry: the best IDF-weighted F1 of the question's concepts with one phrasing's."""
        best = [0.0] * len(self.presence)
        if not concepts:
            return best
        weight = {c: self.idf.get(c, self.unknown_idf) for c in concepts}
        total = sum(weight.values())
        for owner, named in self.phrases:
            if not named:
                continue
            common = sum(weight[c] for c in concepts & named)
            if not common:
                continue
            other = sum(self.idf.get(c, 0.0) for c in named)
            f1 = 2 * common / (total + other)
            if f1 > best[owner]:
                best[owner] = f1
        return best

    def coverage(self, concepts: set[str]) -> list[float]:
        """Per entry: the IDF-weighted share of the question's concepts the entry names."""
        if not concepts:
            return [0.0] * len(self.presence)
        weights = {c: self.idf.get(c, self.unknown_idf) for c in concepts}
        total = sum(weights.values())
        return [
            sum(w * presence.get(c, 0.0) for c, w in weights.items()) / total
            for presence in self.presence
        ]


@dataclass(frozen=True, slots=True)
class _Index:
    """One language's phrasings, profiles and answers."""

    phrase_owner: tuple[int, ...]  # phrasing index -> entry index
    phrases: _Field
    profiles: _Field
    answers: _Field


@dataclass(frozen=True, slots=True)
class FaqMatcher:
    ids: tuple[str, ...]  # entry ids, in base order
    indexes: Mapping[str, _Index]  # per language
    concepts: _Concepts  # per entry: the concepts its phrasings name, in all languages
    lexicon: Lexicon
    detector: LanguageDetector
    config: MatchConfig = field(default_factory=MatchConfig)

    @classmethod
    def build(
        cls,
        base: FaqBase,
        *,
        detector: LanguageDetector | None = None,
        config: MatchConfig | None = None,
    ) -> FaqMatcher:
        ids = tuple(entry.id for entry in base.entries)
        cache: dict[str, tuple[str, ...]] = {}
        indexes = {lang: _build_index(base, lang, cache) for lang in LANGUAGES}
        lexicon = Lexicon.parse()
        return cls(
            ids=ids,
            indexes=MappingProxyType(indexes),
            concepts=_concept_field(base, lexicon),
            lexicon=lexicon,
            detector=detector or default_detector(),
            config=config or MatchConfig(),
        )

    def match(self, text: str, lang_hint: str | None = None) -> MatchResult:
        lang = self.detector.detect(text, lang_hint)
        tokens = words(text)
        if is_greeting(tokens):
            return MatchResult(None, 0.0, lang, self._top(()), Outcome.GREETING)
        scores = self.scores(strip_greetings(tokens), lang)
        ranked = sorted(range(len(self.ids)), key=lambda i: -scores[i])
        best = scores[ranked[0]] if ranked else 0.0
        second = scores[ranked[1]] if len(ranked) > 1 else 0.0
        outcome = self._decide(best, second)
        entry_id = self.ids[ranked[0]] if outcome is Outcome.ANSWER else None
        return MatchResult(entry_id, round(best, 4), lang, self._top(ranked), outcome)

    def scores(self, tokens: Sequence[str], lang: str) -> list[float]:
        """Every entry's score (base order) for normalised `tokens` in `lang`'s texts."""
        index = self.indexes[lang]
        query = features(tokens)
        config = self.config
        phrase_best = [0.0] * len(self.ids)
        for i, similarity in _cosines(query, index.phrases).items():
            owner = index.phrase_owner[i]
            phrase_best[owner] = max(phrase_best[owner], similarity)
        profile = _cosines(query, index.profiles)
        answer = _cosines(stem_features(tokens), index.answers)
        named = self.lexicon.concepts(tokens)
        coverage = self.concepts.coverage(named)
        concept_phrase = self.concepts.best_phrase(named)
        factor = 1.0
        if not named & self.lexicon.specific:
            off_topic = bool(named & self.lexicon.off_topic)
            factor = config.off_topic_factor if off_topic else config.unanchored_factor
        return [
            factor
            * min(
                1.0,
                config.phrase_weight * phrase_best[i]
                + config.profile_weight * profile.get(i, 0.0)
                + config.answer_weight * answer.get(i, 0.0)
                + config.concept_weight * coverage[i]
                + config.concept_phrase_weight * concept_phrase[i],
            )
            for i in range(len(self.ids))
        ]

    def _decide(self, best: float, second: float) -> Outcome:
        config = self.config
        confidence = best + config.lead_weight * (best - second)
        if best >= config.min_answer_score and confidence >= config.answer_threshold:
            return Outcome.ANSWER
        if best >= config.ambiguous_threshold:
            return Outcome.AMBIGUOUS
        return Outcome.NONE

    def _top(self, ranked: Sequence[int]) -> tuple[str, ...]:
        """The best TOP ids; base order fills in when there is no ranking (greetings)."""
        order = list(ranked) or list(range(len(self.ids)))
        return tuple(self.ids[i] for i in order[:TOP])


# --- building ---------------------------------------------------------------------------------


def _build_index(base: FaqBase, lang: str, cache: dict[str, tuple[str, ...]]) -> _Index:
    phrase_vectors: list[dict[str, float]] = []
    phrase_owner: list[int] = []
    profile_vectors: list[dict[str, float]] = []
    answer_vectors: list[dict[str, float]] = []
    for owner, entry in enumerate(base.entries):
        text = entry.text(lang)
        profile: dict[str, float] = defaultdict(float)
        for phrase in (text.title, *text.samples):
            vector = features(words(phrase), cache)
            phrase_vectors.append(vector)
            phrase_owner.append(owner)
            for feature, weight in vector.items():
                profile[feature] += weight
        profile_vectors.append(profile)
        answer = visible_text(parse_telegram_html(text.answer))
        answer_vectors.append(stem_features(words(answer)))
    idf, unknown = _idf(profile_vectors)
    answer_idf, answer_unknown = _idf(answer_vectors)
    return _Index(
        phrase_owner=tuple(phrase_owner),
        phrases=_field(phrase_vectors, idf, unknown),
        profiles=_field(profile_vectors, idf, unknown),
        answers=_field(answer_vectors, answer_idf, answer_unknown),
    )


def _concept_field(base: FaqBase, lexicon: Lexicon) -> _Concepts:
    """Per entry, how firmly its phrasings (all languages) name each concept."""
    presence: list[dict[str, float]] = []
    phrases: list[tuple[int, frozenset[str]]] = []
    for owner, entry in enumerate(base.entries):
        counts: dict[str, float] = defaultdict(float)
        for lang in LANGUAGES:
            text = entry.text(lang)
            for phrase in (text.title, *text.samples):
                named = lexicon.concepts(words(phrase))
                phrases.append((owner, frozenset(named)))
                for concept in named:
                    counts[concept] += 1
        presence.append({c: min(1.0, n / CONCEPT_SATURATION) for c, n in counts.items()})
    idf, unknown = _idf(presence)
    return _Concepts(
        presence=tuple(MappingProxyType(p) for p in presence),
        idf=MappingProxyType(idf),
        unknown_idf=unknown,
        phrases=tuple(phrases),
    )


def _idf(documents: Sequence[Mapping[str, float]]) -> tuple[dict[str, float], float]:
    """Dampened IDF per feature over `documents` (one per entry), and the IDF of df = 0.

    The square root of the usual smoothed IDF: with some 40 entries, a phrase such as "how
    long does it take" that three entries happen to use would otherwise outweigh the word
    saying what the question is about ("trademark", used by a dozen entries).
    """
    df: dict[str, int] = defaultdict(int)
    for document in documents:
        for feature in document:
            df[feature] += 1
    n = len(documents)
    idf = {feature: math.sqrt(math.log((n + 1) / (count + 0.5))) for feature, count in df.items()}
    return idf, math.sqrt(math.log((n + 1) / 0.5))


def _normalised(
    vector: Mapping[str, float], idf: Mapping[str, float], unknown: float
) -> dict[str, float]:
    weighted = {f: tf * idf.get(f, unknown) for f, tf in vector.items()}
    norm = math.sqrt(math.fsum(w * w for w in weighted.values())) or 1.0
    return {f: w / norm for f, w in weighted.items()}


def _field(
    vectors: Sequence[Mapping[str, float]], idf: Mapping[str, float], unknown: float
) -> _Field:
    documents: dict[str, array[int]] = {}
    weights: dict[str, array[float]] = {}
    for i, vector in enumerate(vectors):
        weighted = [(f, tf * idf.get(f, unknown)) for f, tf in vector.items()]
        norm = math.sqrt(math.fsum(w * w for _, w in weighted)) or 1.0
        for feature, weight in weighted:
            if feature not in documents:
                documents[feature] = array("I")
                weights[feature] = array("d")
            documents[feature].append(i)
            weights[feature].append(weight / norm)
    postings = {feature: (documents[feature], weights[feature]) for feature in documents}
    return _Field(
        idf=MappingProxyType(idf), unknown_idf=unknown, postings=MappingProxyType(postings)
    )


# --- matching ---------------------------------------------------------------------------------


def _cosines(query: Mapping[str, float], field: _Field) -> dict[int, float]:
    """Cosine of the question (term frequencies) with every document that shares a feature.

    The question is normalised over all its features, known or not, so words no document
    has lower every cosine.
    """
    sums: dict[int, float] = defaultdict(float)
    for feature, weight in _normalised(query, field.idf, field.unknown_idf).items():
        posting = field.postings.get(feature)
        if posting is not None:
            for document, document_weight in zip(*posting, strict=True):
                sums[document] += weight * document_weight
    return sums
