"""Free-text questions to FAQ entries, offline: language, greetings, retrieval, decision.

Knows nothing of aiogram. `FaqMatcher.build(base)` once at start-up, then
`matcher.match(text, lang_hint)` per question (≈ 1 ms).
"""

from bot.faq.match.cli import run_match
from bot.faq.match.matcher import FaqMatcher, MatchConfig, MatchResult, Outcome

__all__ = ["FaqMatcher", "MatchConfig", "MatchResult", "Outcome", "run_match"]
