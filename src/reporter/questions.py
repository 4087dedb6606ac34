"""Grouping recruiters' questions: the same question asked in different ways counts once.

Normalising folds case, punctuation and whitespace (`What's her  Python experience?` and `whats her python
experience` are one key). Near-duplicates left after that (a typo, a word more or less) are merged by
string similarity, but only among the most frequent keys: the comparison is quadratic, and what the report
shows is the top of the list.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from difflib import SequenceMatcher

_NOT_WORD = re.compile(r"[^\w\s]+")
_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")

# Two normalised questions at least this similar (difflib ratio) are one question.
SIMILARITY = 0.88
# How many of the most frequent keys are compared with each other, and over how many leading characters:
# enough to settle the top ten, while the quadratic comparison stays at a few milliseconds.
MERGE_CANDIDATES = 60
COMPARED_CHARACTERS = 120


def normalise(question: str) -> str:
    """The grouping key of a question: case-folded, punctuation dropped, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", question).casefold()
    text = _NOT_WORD.sub("", text)
    return _SPACE.sub(" ", text).strip()


def display_text(text: str, limit: int) -> str:
    """Untrusted text made fit for one line of an email: no control characters or line breaks, at most
    `limit` characters (an ellipsis marks a cut). Escaping for HTML is the template's job."""
    single_line = _SPACE.sub(" ", _CONTROL.sub(" ", text)).strip()
    if len(single_line) <= limit:
        return single_line
    return single_line[: limit - 1].rstrip() + "…"


@dataclass
class QuestionTally:
    """Counts of one question key: how often, and the match scores its answers had."""

    example: str
    count: int = 0
    score_total: float = 0.0
    scored: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def absorb(self, other: QuestionTally) -> None:
        self.count += other.count
        self.score_total += other.score_total
        self.scored += other.scored
        for reason, count in other.reasons.items():
            self.reasons[reason] = self.reasons.get(reason, 0) + count

    @property
    def average_score(self) -> float | None:
        return self.score_total / self.scored if self.scored else None


@dataclass(frozen=True)
class QuestionGroup:
    """One line of a question list in the report."""

    text: str
    count: int
    average_score: float | None
    reason: str | None = None


def _similar(left: str, right: str) -> bool:
    matcher = SequenceMatcher(None, left[:COMPARED_CHARACTERS], right[:COMPARED_CHARACTERS], autojunk=False)
    return (
        matcher.real_quick_ratio() >= SIMILARITY
        and matcher.quick_ratio() >= SIMILARITY
        and (matcher.ratio() >= SIMILARITY)
    )


def merge_near_duplicates(tallies: dict[str, QuestionTally]) -> list[QuestionTally]:
    """The tallies with near-duplicate keys folded into the most frequent of them, most frequent first."""
    ordered = sorted(tallies.items(), key=lambda item: (-item[1].count, item[0]))
    candidates, rest = ordered[:MERGE_CANDIDATES], ordered[MERGE_CANDIDATES:]
    groups: list[tuple[str, QuestionTally]] = []
    for key, tally in candidates:
        home = next((group for group_key, group in groups if _similar(key, group_key)), None)
        if home is None:
            merged = QuestionTally(tally.example)
            merged.absorb(tally)
            groups.append((key, merged))
        else:
            home.absorb(tally)
    result = [tally for _, tally in groups]
    result.extend(tally for _, tally in rest)
    result.sort(key=lambda tally: -tally.count)
    return result


def top_questions(tallies: dict[str, QuestionTally], limit: int, text_limit: int) -> list[QuestionGroup]:
    """The `limit` most asked questions after merging, shown by their first spelling cut to `text_limit`."""
    return [
        QuestionGroup(
            text=display_text(tally.example, text_limit),
            count=tally.count,
            average_score=tally.average_score,
            reason=_main_reason(tally.reasons),
        )
        for tally in merge_near_duplicates(tallies)[:limit]
    ]


def _main_reason(reasons: dict[str, int]) -> str | None:
    if not reasons:
        return None
    return max(sorted(reasons), key=lambda reason: reasons[reason])


def tally_questions(questions: Iterable[tuple[str, float | None]]) -> dict[str, QuestionTally]:
    """Tallies of (question, match score) pairs by normalised key (used by tests and small inputs)."""
    tallies: dict[str, QuestionTally] = {}
    for question, score in questions:
        key = normalise(question)
        tally = tallies.get(key)
        if tally is None:
            tally = tallies[key] = QuestionTally(question)
        tally.count += 1
        if score is not None:
            tally.score_total += score
            tally.scored += 1
    return tallies
