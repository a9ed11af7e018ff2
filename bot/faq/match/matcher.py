"""Free-text questions to FAQ entries: an offline retriever, ≈ 0.2 ms a question.

A question's score for an entry (0..1) is a weighted sum of six parts:
- in the question's language, over TF-IDF vectors of character n-grams (`text.features`):
  its best cosine with one of the entry's phrasings (title or sample), and its cosine with
  the entry's profile (all its phrasings together);
- its cosine with the entry's answer, over word stems;
- over the domain concepts the texts name (`lexicon`, the same in all four languages): the
  IDF-weighted share of the question's concepts that the entry's phrasings name, and the
  best concept match (F1) with one phrasing in any language;
- a naive Bayes posterior over the entries (in the question's language, over the n-grams and
  concepts of the phrasings): where the similarities above see siblings as alike ("customs
  register" and "goods stopped at customs" share most words), the features that one sibling's
  phrasings use and the other's do not decide.
IDF is counted over entries and dampened (square root), so a feature that many entries share
("how", "Kazakhstan", "қалай") weighs little, and a feature no entry knows ("visa",
"weather") weighs most and pulls every cosine down. A question naming no IP-specific concept
(only "how much", "how long", "court" ...) has its scores scaled down, more so when it names
a neighbouring subject (company registration, visas, taxes ...): off-topic questions score
low.

The inverted indexes are numpy arrays: a question's postings are gathered and summed per
phrasing (`np.bincount`) and reduced per entry (`np.maximum.reduceat`: each entry's phrasings
are contiguous) in C, instead of a Python loop over a thousand postings a question.

The posterior sums to 1 over the entries whatever the question, so it reorders entries that
the similarities already found and adds little to a question that matches nothing.

Then, from the best score and its lead over the second: confident → `answer`; close call
(a lead under `min_lead`, e.g. "customs" alone) or middling score → `ambiguous` (the top 3
to choose from); low → `none`. Greetings and thanks on their own → `greeting`. Weights and
thresholds are tuned on tests/data/faq_dev.jsonl and checked on held-out questions written
separately; the gains that stick come from the content (many varied phrasings per entry)
and the lexicon, not from the weights (`bench/faq.py` reports the figures).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

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
_CONCEPT = "c:"  # the prefix of a concept among the naive Bayes features
# Features with a lower IDF (in some 70 % of the entries or more) get no postings (`_field`).
MIN_IDF = 0.6

Ints: TypeAlias = npt.NDArray[np.intp]
Floats: TypeAlias = npt.NDArray[np.float64]
# feature -> (document indexes, weights): the inverted index of normalised vectors, in
# compact arrays (a tuple per posting would take some 40 MB more)
Postings: TypeAlias = Mapping[str, tuple[Ints, Floats]]


def _gather(postings: Postings, query: Mapping[str, float], size: int) -> Floats:
    """Σ over the query's features of weight × posting, per document (dense, `size` long)."""
    documents: list[Ints] = []
    weights: list[Floats] = []
    query_weights: list[float] = []
    lengths: list[int] = []
    get = postings.get
    for feature, weight in query.items():
        posting = get(feature)
        if posting is not None:
            documents.append(posting[0])
            weights.append(posting[1])
            query_weights.append(weight)
            lengths.append(len(posting[0]))
    if not documents:
        return np.zeros(size)
    products = np.concatenate(weights) * np.repeat(query_weights, lengths)
    return np.bincount(np.concatenate(documents), products, minlength=size)


def _arrays(documents: Sequence[int], weights: Sequence[float]) -> tuple[Ints, Floats]:
    return np.array(documents, dtype=np.intp), np.array(weights, dtype=np.float64)


def _starts(owner: Sequence[int]) -> Ints:
    """Where each owner's run begins in `owner` (runs are contiguous, every owner has one)."""
    starts = [i for i, o in enumerate(owner) if i == 0 or owner[i - 1] != o]
    if len(starts) != len(set(owner)) or list(owner) != sorted(owner):
        raise ValueError("phrasings must be grouped by entry")
    return np.array(starts, dtype=np.intp)


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
    """Weights of the six parts and the decision thresholds (tuned on the dev set)."""

    phrase_weight: float = 0.25  # best cosine with one phrasing (n-grams, same language)
    profile_weight: float = 0.15  # cosine with all phrasings together
    answer_weight: float = 0.1  # cosine with the answer (word stems)
    concept_weight: float = 0.2  # share of the question's concepts the entry names
    concept_phrase_weight: float = 0.25  # best concept match with one phrasing (any language)
    bayes_weight: float = 0.2  # naive Bayes posterior of the entry (same language)
    bayes_alpha: float = 0.03  # additive smoothing of the feature counts
    bayes_sharpness: float = 2.0  # multiplies the mean log-likelihood before the softmax
    # Confident when best + lead_weight * (best - second) reaches answer_threshold and best is
    # at least min_answer_score: a clear lead makes up for a lower score, and vice versa.
    answer_threshold: float = 0.68
    lead_weight: float = 1.0
    min_answer_score: float = 0.45
    min_lead: float = 0.04  # a closer second makes it a choice however high both score
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
class _Phrasings:
    """One language's phrasings (titles and samples) as TF-IDF vectors, inverted but not
    normalised: one pass over the postings gives both the cosine with every phrasing and with
    every entry's profile, the sum of its phrasings' vectors (profile · q = Σ phrasing · q)."""

    idf: Mapping[str, float]
    unknown_idf: float
    postings: Postings  # feature -> (phrasings, tf * idf)
    owner: Ints  # phrasing -> entry (each entry's phrasings are contiguous)
    starts: Ints  # entry -> its first phrasing
    norms: Floats  # per phrasing
    profile_norms: Floats  # per entry

    def cosines(self, query: Mapping[str, float]) -> tuple[Floats, Floats]:
        """Per entry: the best cosine with one of its phrasings, and with its profile."""
        normalised = _normalised(query, self.idf, self.unknown_idf)
        dots = _gather(self.postings, normalised, len(self.norms))
        best = np.maximum.reduceat(dots / self.norms, self.starts)
        profile = np.bincount(self.owner, dots, minlength=len(self.profile_norms))
        return best, profile / self.profile_norms


@dataclass(frozen=True, slots=True)
class _Concepts:
    """Which concepts each entry's phrasings name (0..1, saturating), and their IDF."""

    presence: Floats  # entry x concept (`columns`)
    columns: Mapping[str, int]  # concept -> its column in `presence`
    idf: Mapping[str, float]
    unknown_idf: float
    phrase_starts: Ints  # entry -> its first phrasing (all languages, contiguous per entry)
    phrase_weight: Floats  # phrasing -> the summed IDF of the concepts it names
    by_concept: Postings  # concept -> (the phrasings naming it, ones)

    def best_phrase(self, concepts: set[str]) -> Floats:
        """Per entry: the best IDF-weighted F1 of the question's concepts with one phrasing's."""
        if not concepts:
            return np.zeros(len(self.presence))
        weight = {c: self.idf.get(c, self.unknown_idf) for c in concepts}
        total = sum(weight.values())
        common = _gather(self.by_concept, weight, len(self.phrase_weight))
        f1 = 2 * common / (total + self.phrase_weight)
        return np.maximum.reduceat(f1, self.phrase_starts)

    def coverage(self, concepts: set[str]) -> Floats:
        """Per entry: the IDF-weighted share of the question's concepts the entry names."""
        if not concepts:
            return np.zeros(len(self.presence))
        weights = {c: self.idf.get(c, self.unknown_idf) for c in concepts}
        total = sum(weights.values())
        known = [(self.columns[c], w) for c, w in weights.items() if c in self.columns]
        if not known:
            return np.zeros(len(self.presence))
        columns, column_weights = zip(*known, strict=True)
        return (self.presence[:, list(columns)] @ np.array(column_weights)) / total


@dataclass(frozen=True, slots=True)
class _Bayes:
    """Multinomial naive Bayes over the entries, from their phrasings' features (each counted
    once per phrasing). Only the features an entry has are stored: for a feature f of the
    question, log P(f | e) = log((n + alpha) / alpha) - norm[e] + log(alpha), and the last term
    is the same for every entry."""

    postings: Postings  # feature -> (entries, log((n + alpha) / alpha))
    norms: Floats  # per entry: log(total count + alpha * vocabulary size)

    def posterior(self, query: Sequence[str], sharpness: float) -> Floats:
        """P(entry | question) with a flat prior, from the mean log-likelihood per feature."""
        if not query:
            return np.full(len(self.norms), 1.0 / len(self.norms))
        known = _gather(self.postings, dict.fromkeys(query, 1.0), len(self.norms))
        logits = sharpness * (known / len(query) - self.norms)
        odds = np.exp(logits - logits.max())
        return odds / math.fsum(odds.tolist())


@dataclass(frozen=True, slots=True)
class _Index:
    """One language's phrasings, profiles, answers and naive Bayes model."""

    phrasings: _Phrasings
    answers: _Field
    bayes: _Bayes


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
        config = config or MatchConfig()
        lexicon = Lexicon.parse()
        named = {  # the concepts of every phrasing, once
            phrase: frozenset(lexicon.concepts(words(phrase)))
            for entry in base.entries
            for lang in LANGUAGES
            for phrase in (entry.text(lang).title, *entry.text(lang).samples)
        }
        cache: dict[str, tuple[str, ...]] = {}
        indexes = {
            lang: _build_index(base, lang, cache, named, config.bayes_alpha) for lang in LANGUAGES
        }
        return cls(
            ids=ids,
            indexes=MappingProxyType(indexes),
            concepts=_concept_field(base, named),
            lexicon=lexicon,
            detector=detector or default_detector(),
            config=config,
        )

    def match(self, text: str, lang_hint: str | None = None) -> MatchResult:
        lang = self.detector.detect(text, lang_hint)
        tokens = words(text)
        if is_greeting(tokens):
            return MatchResult(None, 0.0, lang, self._top(()), Outcome.GREETING)
        scores = self._scores(strip_greetings(tokens), lang)
        ranked = np.argsort(-scores, kind="stable").tolist()  # ties: base order
        best = float(scores[ranked[0]]) if ranked else 0.0
        second = float(scores[ranked[1]]) if len(ranked) > 1 else 0.0
        outcome = self._decide(best, second)
        entry_id = self.ids[ranked[0]] if outcome is Outcome.ANSWER else None
        return MatchResult(entry_id, round(best, 4), lang, self._top(ranked), outcome)

    def scores(self, tokens: Sequence[str], lang: str) -> list[float]:
        """Every entry's score (base order) for normalised `tokens` in `lang`'s texts."""
        return [float(score) for score in self._scores(tokens, lang)]

    def _scores(self, tokens: Sequence[str], lang: str) -> Floats:
        index = self.indexes[lang]
        query = features(tokens)
        config = self.config
        phrase_best, profile = index.phrasings.cosines(query)
        answer = _cosines(stem_features(tokens), index.answers, len(self.ids))
        named = self.lexicon.concepts(tokens)
        coverage = self.concepts.coverage(named)
        concept_phrase = self.concepts.best_phrase(named)
        bayes = index.bayes.posterior(
            [*query, *(_CONCEPT + c for c in named)], config.bayes_sharpness
        )
        factor = 1.0
        if not named & self.lexicon.specific:
            off_topic = bool(named & self.lexicon.off_topic)
            factor = config.off_topic_factor if off_topic else config.unanchored_factor
        total = (
            config.phrase_weight * phrase_best
            + config.profile_weight * profile
            + config.answer_weight * answer
            + config.concept_weight * coverage
            + config.concept_phrase_weight * concept_phrase
            + config.bayes_weight * bayes
        )
        return factor * np.minimum(1.0, total)

    def _decide(self, best: float, second: float) -> Outcome:
        config = self.config
        confidence = best + config.lead_weight * (best - second)
        if (
            best >= config.min_answer_score
            and confidence >= config.answer_threshold
            and best - second >= config.min_lead
        ):
            return Outcome.ANSWER
        if best >= config.ambiguous_threshold:
            return Outcome.AMBIGUOUS
        return Outcome.NONE

    def _top(self, ranked: Sequence[int]) -> tuple[str, ...]:
        """The best TOP ids; base order fills in when there is no ranking (greetings)."""
        order = list(ranked) or list(range(len(self.ids)))
        return tuple(self.ids[i] for i in order[:TOP])


# --- building ---------------------------------------------------------------------------------


def _build_index(
    base: FaqBase,
    lang: str,
    cache: dict[str, tuple[str, ...]],
    named: Mapping[str, frozenset[str]],
    alpha: float,
) -> _Index:
    phrase_vectors: list[dict[str, float]] = []
    phrase_owner: list[int] = []
    profile_vectors: list[dict[str, float]] = []
    answer_vectors: list[dict[str, float]] = []
    bayes_counts: list[dict[str, float]] = []
    for owner, entry in enumerate(base.entries):
        text = entry.text(lang)
        profile: dict[str, float] = defaultdict(float)
        counts: dict[str, float] = defaultdict(float)
        for phrase in (text.title, *text.samples):
            vector = features(words(phrase), cache)
            phrase_vectors.append(vector)
            phrase_owner.append(owner)
            for feature, weight in vector.items():
                profile[feature] += weight
                counts[feature] += 1
            for concept in named[phrase]:
                counts[_CONCEPT + concept] += 1
        profile_vectors.append(profile)
        bayes_counts.append(counts)
        answer = visible_text(parse_telegram_html(text.answer))
        answer_vectors.append(stem_features(words(answer)))
    idf, unknown = _idf(profile_vectors)
    answer_idf, answer_unknown = _idf(answer_vectors)
    return _Index(
        phrasings=_phrasings(phrase_vectors, phrase_owner, profile_vectors, idf, unknown),
        answers=_field(answer_vectors, answer_idf, answer_unknown),
        bayes=_bayes(bayes_counts, alpha),
    )


def _phrasings(
    vectors: Sequence[Mapping[str, float]],
    owner: Sequence[int],
    profiles: Sequence[Mapping[str, float]],
    idf: Mapping[str, float],
    unknown: float,
) -> _Phrasings:
    """As `_field`, with the weights left unnormalised and the norms kept aside."""
    documents: dict[str, list[int]] = defaultdict(list)
    weights: dict[str, list[float]] = defaultdict(list)
    norms: list[float] = []
    for i, vector in enumerate(vectors):
        weighted = [(f, tf * idf.get(f, unknown)) for f, tf in vector.items()]
        norms.append(math.sqrt(math.fsum(w * w for _, w in weighted)) or 1.0)
        for feature, weight in weighted:
            if idf.get(feature, unknown) >= MIN_IDF:
                documents[feature].append(i)
                weights[feature].append(weight)
    profile_norms = [
        math.sqrt(math.fsum((tf * idf.get(f, unknown)) ** 2 for f, tf in profile.items())) or 1.0
        for profile in profiles
    ]
    postings = {f: _arrays(documents[f], weights[f]) for f in documents}
    return _Phrasings(
        idf=MappingProxyType(idf),
        unknown_idf=unknown,
        postings=MappingProxyType(postings),
        owner=np.array(owner, dtype=np.intp),
        starts=_starts(owner),
        norms=np.array(norms),
        profile_norms=np.array(profile_norms),
    )


def _bayes(counts: Sequence[Mapping[str, float]], alpha: float) -> _Bayes:
    vocabulary = len(set().union(*counts))
    entries: dict[str, list[int]] = defaultdict(list)
    weights: dict[str, list[float]] = defaultdict(list)
    for entry, entry_counts in enumerate(counts):
        for feature, n in entry_counts.items():
            entries[feature].append(entry)
            weights[feature].append(math.log((n + alpha) / alpha))
    norms = [math.log(math.fsum(c.values()) + alpha * vocabulary) for c in counts]
    postings = {feature: _arrays(entries[feature], weights[feature]) for feature in entries}
    return _Bayes(postings=MappingProxyType(postings), norms=np.array(norms))


def _concept_field(base: FaqBase, named: Mapping[str, frozenset[str]]) -> _Concepts:
    """Per entry, how firmly its phrasings (all languages) name each concept."""
    presence: list[dict[str, float]] = []
    phrase_owner: list[int] = []
    phrase_concepts: list[frozenset[str]] = []
    for owner, entry in enumerate(base.entries):
        counts: dict[str, float] = defaultdict(float)
        for lang in LANGUAGES:
            text = entry.text(lang)
            for phrase in (text.title, *text.samples):
                phrase_owner.append(owner)
                phrase_concepts.append(named[phrase])
                for concept in named[phrase]:
                    counts[concept] += 1
        presence.append({c: min(1.0, n / CONCEPT_SATURATION) for c, n in counts.items()})
    idf, unknown = _idf(presence)
    by_concept: dict[str, list[int]] = defaultdict(list)
    for phrase, concepts in enumerate(phrase_concepts):
        for concept in concepts:
            by_concept[concept].append(phrase)
    columns = {concept: i for i, concept in enumerate(sorted(idf))}
    matrix = np.zeros((len(presence), len(columns)))
    for row, entry_presence in enumerate(presence):
        for concept, share in entry_presence.items():
            matrix[row, columns[concept]] = share
    return _Concepts(
        presence=matrix,
        columns=MappingProxyType(columns),
        idf=MappingProxyType(idf),
        unknown_idf=unknown,
        phrase_starts=_starts(phrase_owner),
        phrase_weight=np.array(
            [math.fsum(idf[c] for c in concepts) for concepts in phrase_concepts]
        ),
        by_concept=MappingProxyType({c: _arrays(p, [1.0] * len(p)) for c, p in by_concept.items()}),
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
    """The documents' normalised vectors, inverted. A feature that nearly every entry has
    (IDF below MIN_IDF: "<ка", "ан>", "how") counts in the norms but gets no posting: it
    would move every cosine alike and its long posting list is most of the time spent."""
    documents: dict[str, list[int]] = defaultdict(list)
    weights: dict[str, list[float]] = defaultdict(list)
    for i, vector in enumerate(vectors):
        weighted = [(f, tf * idf.get(f, unknown)) for f, tf in vector.items()]
        norm = math.sqrt(math.fsum(w * w for _, w in weighted)) or 1.0
        for feature, weight in weighted:
            if idf.get(feature, unknown) >= MIN_IDF:
                documents[feature].append(i)
                weights[feature].append(weight / norm)
    postings = {f: _arrays(documents[f], weights[f]) for f in documents}
    return _Field(
        idf=MappingProxyType(idf), unknown_idf=unknown, postings=MappingProxyType(postings)
    )


# --- matching ---------------------------------------------------------------------------------


def _cosines(query: Mapping[str, float], field: _Field, size: int) -> Floats:
    """Cosine of the question (term frequencies) with each of the `size` documents.

    The question is normalised over all its features, known or not, so words no document
    has lower every cosine.
    """
    return _gather(field.postings, _normalised(query, field.idf, field.unknown_idf), size)
