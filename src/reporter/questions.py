"""Recruiters' questions as the report lists them: tallied per wording, then grouped by meaning.

Normalising folds case, punctuation and whitespace (`What's her  Python experience?` and `whats her python
experience` are one wording). Wordings are then grouped by meaning (`reporter.grouping`), so that "notice
period?" and "When is she available to join?" are one line with their counts added up.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from reporter.view_model import QuestionGroup, Ranked

_NOT_WORD = re.compile(r"[^\w\s]+")
_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
CLOSEST_SOURCES = 3
CLOSEST_TEXT_LIMIT = 40


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


def preferred(one: str, other: str) -> str:
    """Of two spellings of one wording, the one the email shows: not all capitals first, then the smallest."""
    return min(one, other, key=lambda spelling: (spelling.isupper(), spelling))


# Scores are summed as integer millionths: a float sum depends on the order it was added up in, and a week
# merged from day rollups must equal the week counted from its records.
SCORE_UNITS = 1_000_000


@dataclass(slots=True)
class QuestionTally:
    """Counts of one wording: how often, the match scores its answers had, the CV sections they cited.

    `example` is the preferred spelling seen (not the first, so the same whatever order the records came
    in): the smallest that is not all capitals, since a shouted wording reads worst in the email.
    A plain dict counts the sources: a report merges hundreds of thousands of tallies, and a Counter costs
    several times more to create.
    """

    example: str
    count: int = 0
    score_units: int = 0
    scored: int = 0
    best_score: float | None = None
    sources: dict[str, int] = field(default_factory=dict)

    def add(self, score: float | None, sources: Sequence[str] = (), spelling: str | None = None) -> None:
        self.count += 1
        if spelling is not None and spelling != self.example:
            self.example = preferred(self.example, spelling)
        if score is not None:
            self.score_units += round(score * SCORE_UNITS)
            self.scored += 1
            if self.best_score is None or score > self.best_score:
                self.best_score = score
        counts = self.sources
        for source in sources:
            counts[source] = counts.get(source, 0) + 1

    def absorb(self, other: QuestionTally) -> None:
        self.count += other.count
        self.example = preferred(self.example, other.example)
        self.score_units += other.score_units
        self.scored += other.scored
        if other.best_score is not None and (self.best_score is None or other.best_score > self.best_score):
            self.best_score = other.best_score
        counts = self.sources
        for source, times in other.sources.items():
            counts[source] = counts.get(source, 0) + times

    @property
    def average_score(self) -> float | None:
        return self.score_units / self.scored / SCORE_UNITS if self.scored else None


def group_tallies(
    tallies: Mapping[str, QuestionTally], group_of: Mapping[str, str]
) -> dict[str, tuple[QuestionTally, int, str]]:
    """Group key -> (the merged tally, how many wordings, the most asked wording's example)."""
    merged: dict[str, tuple[QuestionTally, int, str, int]] = {}
    for key, tally in sorted(tallies.items(), key=lambda item: (-item[1].count, item[0])):
        group = group_of.get(key, key)
        entry = merged.get(group)
        if entry is None:
            total = QuestionTally(tally.example)
            total.absorb(tally)
            merged[group] = (total, 1, tally.example, tally.count)
        else:
            entry[0].absorb(tally)
            merged[group] = (entry[0], entry[1] + 1, entry[2], entry[3])
    return {group: (tally, wordings, example) for group, (tally, wordings, example, _) in merged.items()}


def question_groups(
    tallies: Mapping[str, QuestionTally],
    group_of: Mapping[str, str],
    topics: Mapping[str, str | None],
    earlier_groups: set[str],
    text_limit: int,
) -> list[QuestionGroup]:
    """Every group of these tallies, most asked first; `earlier_groups` are those asked in the weeks before
    (a group not among them is new)."""
    lines = [
        QuestionGroup(
            text=display_text(example, text_limit),
            count=tally.count,
            wordings=wordings,
            average_score=tally.average_score,
            topic=topics.get(group),
            new=group not in earlier_groups,
            best_score=tally.best_score,
            closest=tuple(
                Ranked(display_text(name, CLOSEST_TEXT_LIMIT), count)
                for name, count in sorted(tally.sources.items(), key=lambda item: (-item[1], item[0]))[
                    :CLOSEST_SOURCES
                ]
            ),
        )
        for group, (tally, wordings, example) in group_tallies(tallies, group_of).items()
    ]
    lines.sort(key=lambda line: (-line.count, line.text))
    return lines
