"""The report's figures over any span of time: counted from records, merged from spans, stored and read back.

One local day's `Figures` is what a rollup stores; a week is its seven days merged. Every figure is chosen
so that merging is exact and the result does not depend on the order of the records or on how they were
split into spans: counts and integer sums add up, scores are summed as integer millionths (a float sum
depends on its order), a wording's example is its preferred spelling rather than its first, the earliest
failed ids are kept by time, and the two figures that cannot be kept exactly in bounded space are
sketches that merge exactly (`reporter.sketches`): latency percentiles within 2 %, and distinct sessions,
exact up to 512 and a HyperLogLog past that. So a week merged from day rollups equals the week counted
from its records, which is what `rebuild-rollups` and the tests rely on.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from contract.tables import QUERY_ONLY, RESPONSE_ONLY
from reporter.questions import SCORE_UNITS, QuestionTally, normalise
from reporter.records import ANSWERED, ERROR, FAILED, MISSING, REFUSED, Request, fate
from reporter.sketches import LatencySketch, SessionCount

# The Worker sends this when it has no session; it says nothing about how many people asked.
ANONYMOUS_SESSION = "anonymous"
MATCH_TYPES = ("full", "partial", "none")
# Request ids listed per kind of failure in data quality; the count is always complete.
FAILED_IDS = 10
# The per-wording lists, by the name they are stored under.
WORDING_LISTS = ("questions", "unanswered", "partial", "refused_questions")
# The plain counts of `Figures`: merged by adding, stored as they are.
COUNTS = (
    "requests",
    "answered",
    "refused",
    "failed",
    "missing",
    "errors",
    "query_only",
    "response_only",
    "healed",
    "response_before_query",
    "cache_hits",
    "cache_known",
    "score_units",
    "scored",
)


def _host(referer: str) -> str:
    """Where a visitor came from, without the path (which can carry personal data)."""
    host = urlsplit(referer if "//" in referer else f"//{referer}").hostname
    return host or referer


def _earliest(ids: list[tuple[int, str]]) -> None:
    """Keep the earliest FAILED_IDS (time, id) pairs: the list stays small however many requests failed."""
    ids.sort()
    del ids[FAILED_IDS:]


@dataclass
class LeftOut:
    """What a bounded wording list no longer lists: how many wordings, asked how many times in all."""

    wordings: int = 0
    questions: int = 0

    def add(self, other: LeftOut) -> None:
        self.wordings += other.wordings
        self.questions += other.questions


@dataclass
class Figures:
    """Everything the report counts over one span of time; `add` a record, `merge` another span."""

    requests: int = 0
    answered: int = 0
    refused: int = 0
    failed: int = 0
    missing: int = 0
    errors: int = 0
    query_only: int = 0
    response_only: int = 0
    healed: int = 0
    response_before_query: int = 0
    sessions: SessionCount = field(default_factory=SessionCount)
    latency: LatencySketch = field(default_factory=LatencySketch)
    cache_hits: int = 0
    cache_known: int = 0
    match_counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MATCH_TYPES, 0))
    score_units: int = 0
    scored: int = 0
    model_requests: Counter[str] = field(default_factory=Counter)
    input_tokens: Counter[str] = field(default_factory=Counter)
    output_tokens: Counter[str] = field(default_factory=Counter)
    # Per wording: every question not refused, the gaps, the partial matches, the refused ones.
    questions: dict[str, QuestionTally] = field(default_factory=dict)
    unanswered: dict[str, QuestionTally] = field(default_factory=dict)
    partial: dict[str, QuestionTally] = field(default_factory=dict)
    refused_questions: dict[str, QuestionTally] = field(default_factory=dict)
    # What `bounded` dropped from each wording list, by list name.
    left_out: dict[str, LeftOut] = field(default_factory=dict)
    error_ids: list[tuple[int, str]] = field(default_factory=list)
    orphan_ids: list[tuple[int, str]] = field(default_factory=list)
    sources: Counter[str] = field(default_factory=Counter)
    countries: Counter[str] = field(default_factory=Counter)
    referrers: Counter[str] = field(default_factory=Counter)

    @property
    def average_score(self) -> float | None:
        return self.score_units / self.scored / SCORE_UNITS if self.scored else None

    def merge(self, other: Figures, *, take: bool = False) -> None:
        """Add another span's figures to these (in place). `other` is left as it was, unless `take`: then
        its wording tallies are taken over where these have none (no copy), and it must not be used again."""
        for name in COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.sessions.merge(other.sessions)
        self.latency.merge(other.latency)
        for match_type, count in other.match_counts.items():
            self.match_counts[match_type] = self.match_counts.get(match_type, 0) + count
        for mine, counted in (
            (self.model_requests, other.model_requests),
            (self.input_tokens, other.input_tokens),
            (self.output_tokens, other.output_tokens),
            (self.sources, other.sources),
            (self.countries, other.countries),
            (self.referrers, other.referrers),
        ):
            mine.update(counted)
        for name in WORDING_LISTS:
            tallies: dict[str, QuestionTally] = getattr(self, name)
            theirs: dict[str, QuestionTally] = getattr(other, name)
            if take and not tallies:
                setattr(self, name, theirs)
                continue
            for key, tally in theirs.items():
                own = tallies.get(key)
                if own is None:
                    if take:
                        tallies[key] = tally
                        continue
                    own = tallies[key] = QuestionTally(tally.example)
                own.absorb(tally)
        for name, left in other.left_out.items():
            self.left_out.setdefault(name, LeftOut()).add(left)
        for mine_ids, their_ids in ((self.error_ids, other.error_ids), (self.orphan_ids, other.orphan_ids)):
            mine_ids.extend(their_ids)
            _earliest(mine_ids)


class FiguresCounter:
    """Counts records into one `Figures` in a single pass; the hot loop of every report and rollup."""

    def __init__(self, figures: Figures | None = None) -> None:
        self.figures = figures if figures is not None else Figures()
        self._keys: dict[str, str] = {}
        self._hosts: dict[str, str] = {}

    def add_all(self, records: Iterable[Request]) -> Figures:
        add = self.add
        for record in records:
            add(record)
        return self.figures

    def _key(self, question: str) -> str:
        key = self._keys.get(question)
        if key is None:
            key = self._keys[question] = normalise(question)
        return key

    @staticmethod
    def _tally(tallies: dict[str, QuestionTally], key: str, spelling: str) -> QuestionTally:
        tally = tallies.get(key)
        if tally is None:
            tally = tallies[key] = QuestionTally(spelling)
        return tally

    @staticmethod
    def _remember(ids: list[tuple[int, str]], timestamp: int, request_id: str) -> None:
        ids.append((timestamp, request_id))
        if len(ids) > 4 * FAILED_IDS:
            _earliest(ids)

    def add(self, record: Request) -> str:  # noqa: PLR0912, PLR0915 - one branch per figure, in one pass
        """Count one record; returns its fate (`reporter.records.fate`)."""
        figures = self.figures
        figures.requests += 1
        correlation = record.correlation
        if correlation == QUERY_ONLY:
            figures.query_only += 1
            self._remember(figures.orphan_ids, record.timestamp, record.request_id)
        elif correlation == RESPONSE_ONLY:
            figures.response_only += 1
        if record.healed:
            figures.healed += 1
        session = record.session_id
        if session and session != ANONYMOUS_SESSION:
            figures.sessions.add(session)
        kind = fate(record)
        if kind == ANSWERED:
            figures.answered += 1
        elif kind == REFUSED:
            figures.refused += 1
        elif kind == FAILED:
            figures.failed += 1
            if record.outcome == ERROR:
                figures.errors += 1
                self._remember(figures.error_ids, record.timestamp, record.request_id)
        else:
            figures.missing += 1
        match_type = record.match_type
        if match_type in figures.match_counts:
            figures.match_counts[match_type] += 1
        score = record.match_score
        if score is not None:
            figures.score_units += round(score * SCORE_UNITS)
            figures.scored += 1
        if record.response_before_query:
            figures.response_before_query += 1
        elif record.latency_ms is not None:
            figures.latency.add(record.latency_ms)
        if record.cache_hit is not None:
            figures.cache_known += 1
            if record.cache_hit:
                figures.cache_hits += 1
        model = record.model
        if model:
            figures.model_requests[model] += 1
            if record.input_tokens:
                figures.input_tokens[model] += record.input_tokens
            if record.output_tokens:
                figures.output_tokens[model] += record.output_tokens
        question = record.question
        if question is not None:
            key = self._key(question)
            if kind == REFUSED:
                self._tally(figures.refused_questions, key, question).add(score, (), question)
            else:
                self._tally(figures.questions, key, question).add(score, (), question)
                if kind == MISSING:
                    self._tally(figures.unanswered, key, question).add(score, record.sources, question)
                elif kind == ANSWERED and match_type == "partial":
                    self._tally(figures.partial, key, question).add(score, record.sources, question)
        sources = record.sources
        if sources:
            counts = figures.sources
            for source in sources:  # a plain loop: Counter.update costs more than the counting
                counts[source] = counts.get(source, 0) + 1
        if record.country:
            figures.countries[record.country] += 1
        referer = record.referer
        if referer:
            host = self._hosts.get(referer)
            if host is None:
                host = self._hosts[referer] = _host(referer)
            figures.referrers[host] += 1
        return kind


def count(records: Iterable[Request]) -> Figures:
    """The figures of these records."""
    return FiguresCounter().add_all(records)


def _ordered(tallies: Mapping[str, QuestionTally]) -> list[tuple[str, QuestionTally]]:
    return sorted(tallies.items(), key=lambda item: (-item[1].count, item[0]))


def bounded(figures: Figures, wordings: int, names: int) -> Figures:
    """The same figures with each wording list cut to its `wordings` most asked, and each named counter
    (sources, countries, referrers) to its `names` largest, in place.

    What a wording list drops is counted in `left_out`, so the email can say a long tail was not listed.
    Counts of requests are never cut: only which wordings and names are listed.
    """
    for name in WORDING_LISTS:
        tallies: dict[str, QuestionTally] = getattr(figures, name)
        if len(tallies) <= wordings:
            continue
        ordered = _ordered(tallies)
        dropped = ordered[wordings:]
        left = figures.left_out.setdefault(name, LeftOut())
        left.add(LeftOut(len(dropped), sum(tally.count for _, tally in dropped)))
        setattr(figures, name, dict(ordered[:wordings]))
    for counter_name in ("sources", "countries", "referrers"):
        counter: Counter[str] = getattr(figures, counter_name)
        if len(counter) > names:
            kept = sorted(counter.items(), key=lambda item: (-item[1], item[0]))[:names]
            setattr(figures, counter_name, Counter(dict(kept)))
    return figures


# Stored form: plain JSON values, short keys, so a rollup item stays small.


def _tally_json(tally: QuestionTally) -> list[Any]:
    return [
        tally.example,
        tally.count,
        tally.score_units,
        tally.scored,
        None if tally.best_score is None else float(tally.best_score),  # 90 and 90.0 store alike
        dict(tally.sources),
    ]


def _tally_of(data: list[Any]) -> QuestionTally:
    example, count_, score_units, scored, best_score, sources = data
    return QuestionTally(
        example,
        count=int(count_),
        score_units=int(score_units),
        scored=int(scored),
        best_score=None if best_score is None else float(best_score),
        sources={str(name): int(value) for name, value in sources.items()},
    )


_COUNTERS = ("model_requests", "input_tokens", "output_tokens", "sources", "countries", "referrers")


def to_json(figures: Figures) -> dict[str, Any]:
    """The figures as JSON values: what a rollup item stores (compressed)."""
    return {
        "counts": {name: getattr(figures, name) for name in COUNTS},
        "sessions": figures.sessions.to_json(),
        "latency": figures.latency.to_json(),
        "match_counts": dict(figures.match_counts),
        **{name: dict(getattr(figures, name)) for name in _COUNTERS},
        # Each wording list is a JSON text of its own: a reader that needs none of them (a week that only
        # gives a headline) skips them without building a single tally.
        **{
            name: json.dumps(
                {key: _tally_json(tally) for key, tally in getattr(figures, name).items()},
                separators=(",", ":"),
                ensure_ascii=False,
                sort_keys=True,  # the same figures give the same text, whatever order they were counted in
            )
            for name in WORDING_LISTS
        },
        "left_out": {name: [left.wordings, left.questions] for name, left in figures.left_out.items()},
        "error_ids": [list(pair) for pair in sorted(figures.error_ids)[:FAILED_IDS]],
        "orphan_ids": [list(pair) for pair in sorted(figures.orphan_ids)[:FAILED_IDS]],
    }


class FiguresFormatError(ValueError):
    """A stored rollup that is not what `to_json` writes; the message names the part that is wrong."""


def from_json(data: Mapping[str, Any], lists: Iterable[str] = WORDING_LISTS) -> Figures:
    """The figures `to_json` stored, with only the wording `lists` named (the others left empty); a
    malformed value raises FiguresFormatError naming it."""
    part = "counts"
    try:
        figures = Figures()
        for name in COUNTS:
            setattr(figures, name, int(data["counts"][name]))
        part = "sessions"
        figures.sessions = SessionCount.from_json(data["sessions"])
        part = "latency"
        figures.latency = LatencySketch.from_json(data["latency"])
        part = "match_counts"
        figures.match_counts = {str(name): int(value) for name, value in data["match_counts"].items()}
        for part in _COUNTERS:
            setattr(figures, part, Counter({str(k): int(v) for k, v in data[part].items()}))
        for part in lists:
            tallies = json.loads(data[part])
            setattr(figures, part, {str(key): _tally_of(value) for key, value in tallies.items()})
        part = "left_out"
        figures.left_out = {str(name): LeftOut(int(w), int(q)) for name, (w, q) in data[part].items()}
        part = "error_ids"
        figures.error_ids = [(int(at), str(request)) for at, request in data[part]]
        part = "orphan_ids"
        figures.orphan_ids = [(int(at), str(request)) for at, request in data[part]]
    except (KeyError, TypeError, ValueError) as error:
        raise FiguresFormatError(f"stored figures have a malformed {part!r}: {error}") from error
    return figures
