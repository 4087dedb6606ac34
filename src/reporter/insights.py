"""The week's figures, computed in one pass over the records: pure functions, no I/O.

`WeekAggregator` takes records one at a time (from DynamoDB pages, a test list or a benchmark generator)
and keeps only counters, a latency array and per-question tallies, so memory grows with the number of
distinct questions and sessions, not with the number of records. `build_insights` turns two aggregated
weeks plus the data-quality readings into the `WeekInsights` the templates render.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

from contract.tables import QUERY_ONLY, RESPONSE_ONLY
from reporter.period import ReportWeek
from reporter.questions import QuestionGroup, QuestionTally, display_text, normalise, top_questions
from reporter.records import UNANSWERED_OUTCOMES, Quarantined, Request
from reporter.settings import ModelPrice
from reporter.stats import change, percentile

# The Worker sends this when it has no session; it says nothing about how many people asked.
ANONYMOUS_SESSION = "anonymous"
MATCH_TYPES = ("full", "partial", "none")
TOP_QUESTIONS = 10
TOP_UNANSWERED = 10
TOP_SOURCES = 10
TOP_ORIGINS = 5
TOP_MODELS = 8
QUESTION_TEXT_LIMIT = 140
NAME_TEXT_LIMIT = 60
SOURCE_TEXT_LIMIT = 40


@dataclass(frozen=True)
class Totals:
    requests: int
    answered: int
    sessions: int | None

    @property
    def answer_rate(self) -> float | None:
        return self.answered / self.requests if self.requests else None


@dataclass(frozen=True)
class Change:
    """A headline figure, last week's value and the relative change (None when last week had none)."""

    current: float
    previous: float
    relative: float | None


@dataclass(frozen=True)
class Latency:
    count: int
    p50: float
    p95: float
    p99: float
    minimum: float
    maximum: float


@dataclass(frozen=True)
class ModelUsage:
    model: str
    requests: int
    input_tokens: int
    output_tokens: int
    cost: float | None


@dataclass(frozen=True)
class MatchQuality:
    full: int
    partial: int
    none: int
    average_score: float | None

    @property
    def total(self) -> int:
        return self.full + self.partial + self.none


@dataclass(frozen=True)
class Ranked:
    name: str
    count: int


@dataclass(frozen=True)
class DayTraffic:
    day: date
    requests: int
    unanswered: int


@dataclass(frozen=True)
class DataQuality:
    query_only: int
    response_only: int
    healed: int
    quarantined: int
    quarantine_reasons: list[Ranked]
    dlq_depth: int | None
    pending: int | None
    response_before_query: int = 0  # records whose response is timed before their query

    @property
    def orphans(self) -> int:
        return self.query_only + self.response_only


@dataclass(frozen=True)
class WeekInsights:
    """Everything the email says about one week."""

    week: str
    label: str
    totals: Totals
    previous: Totals
    requests_change: Change
    answered_change: Change
    latency: Latency | None
    cache_hit_rate: float | None
    models: list[ModelUsage]
    currency: str
    match: MatchQuality
    top_questions: list[QuestionGroup]
    distinct_questions: int
    unanswered: list[QuestionGroup]
    unanswered_total: int
    sources: list[Ranked]
    traffic: list[DayTraffic]
    countries: list[Ranked]
    referrers: list[Ranked]
    data_quality: DataQuality
    # True when lists were cut below their usual length to keep the email under Gmail's clipping limit.
    shortened: bool = False

    @property
    def empty(self) -> bool:
        return self.totals.requests == 0

    @property
    def total_cost(self) -> float | None:
        costs = [usage.cost for usage in self.models if usage.cost is not None]
        return sum(costs) if costs else None


def _host(referer: str) -> str:
    """Where a visitor came from, without the path (which can carry personal data)."""
    host = urlsplit(referer if "//" in referer else f"//{referer}").hostname
    return host or referer


class WeekAggregator:
    """Counts one week's records in a single pass; records outside the week are ignored."""

    def __init__(self, week: ReportWeek) -> None:
        self.week = week
        self._start = week.start_ms
        self._end = week.end_ms
        self._day_bounds = week.day_bounds_ms()
        self.requests = 0
        self.answered = 0
        self.query_only = 0
        self.response_only = 0
        self.healed = 0
        self.response_before_query = 0
        self.unanswered_total = 0
        self.sessions: set[str] = set()
        self.latencies = array("d")
        self.cache_hits = 0
        self.cache_known = 0
        self.match_counts = dict.fromkeys(MATCH_TYPES, 0)
        self.score_total = 0.0
        self.scored = 0
        self.model_requests: Counter[str] = Counter()
        self.input_tokens: Counter[str] = Counter()
        self.output_tokens: Counter[str] = Counter()
        self.questions: dict[str, QuestionTally] = {}
        self.unanswered: dict[str, QuestionTally] = {}
        self.sources: Counter[str] = Counter()
        self.day_requests = [0] * 7
        self.day_unanswered = [0] * 7
        self.countries: Counter[str] = Counter()
        self.referrers: Counter[str] = Counter()
        self._keys: dict[str, str] = {}
        self._hosts: dict[str, str] = {}

    def add_all(self, records: Iterable[Request]) -> WeekAggregator:
        add = self.add
        for record in records:
            add(record)
        return self

    def _key(self, question: str) -> str:
        key = self._keys.get(question)
        if key is None:
            key = self._keys[question] = normalise(question)
        return key

    def add(self, record: Request) -> None:  # noqa: PLR0912, PLR0915 - one branch per figure, in one pass
        timestamp = record.timestamp
        if not self._start <= timestamp < self._end:
            return
        self.requests += 1
        day = bisect_right(self._day_bounds, timestamp)
        self.day_requests[day] += 1
        correlation = record.correlation
        if correlation == QUERY_ONLY:
            self.query_only += 1
        elif correlation == RESPONSE_ONLY:
            self.response_only += 1
        if record.healed:
            self.healed += 1
        session = record.session_id
        if session and session != ANONYMOUS_SESSION:
            self.sessions.add(session)
        match_type = record.match_type
        unanswered = match_type == "none" or record.outcome in UNANSWERED_OUTCOMES
        if unanswered:
            self.unanswered_total += 1
            self.day_unanswered[day] += 1
        elif correlation != QUERY_ONLY:
            self.answered += 1
        if match_type in self.match_counts:
            self.match_counts[match_type] += 1
        score = record.match_score
        if score is not None:
            self.score_total += score
            self.scored += 1
        if record.response_before_query:
            self.response_before_query += 1
        elif record.latency_ms is not None:
            self.latencies.append(record.latency_ms)
        if record.cache_hit is not None:
            self.cache_known += 1
            if record.cache_hit:
                self.cache_hits += 1
        model = record.model
        if model:
            self.model_requests[model] += 1
            if record.input_tokens:
                self.input_tokens[model] += record.input_tokens
            if record.output_tokens:
                self.output_tokens[model] += record.output_tokens
        question = record.question
        if question is not None:
            key = self._key(question)
            tally = self.questions.get(key)
            if tally is None:
                tally = self.questions[key] = QuestionTally(question)
            tally.count += 1
            if score is not None:
                tally.score_total += score
                tally.scored += 1
            if unanswered:
                gap = self.unanswered.get(key)
                if gap is None:
                    gap = self.unanswered[key] = QuestionTally(tally.example)
                gap.count += 1
                reason = record.outcome if record.outcome in UNANSWERED_OUTCOMES else "no match"
                gap.reasons[reason] = gap.reasons.get(reason, 0) + 1
        sources = record.sources
        if sources:
            counts = self.sources
            for source in sources:  # a plain loop: Counter.update costs more than the counting
                counts[source] = counts.get(source, 0) + 1
        if record.country:
            self.countries[record.country] += 1
        referer = record.referer
        if referer:
            host = self._hosts.get(referer)
            if host is None:
                host = self._hosts[referer] = _host(referer)
            self.referrers[host] += 1

    def totals(self) -> Totals:
        return Totals(self.requests, self.answered, len(self.sessions) or None)


def _ranked(counter: Counter[str], limit: int, text_limit: int = NAME_TEXT_LIMIT) -> list[Ranked]:
    ordered = sorted(counter.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return [Ranked(display_text(name, text_limit), count) for name, count in ordered]


def _latency(values: array[float]) -> Latency | None:
    if not values:
        return None
    ordered = sorted(values)
    return Latency(
        count=len(ordered),
        p50=percentile(ordered, 50),
        p95=percentile(ordered, 95),
        p99=percentile(ordered, 99),
        minimum=ordered[0],
        maximum=ordered[-1],
    )


def _models(aggregator: WeekAggregator, prices: Mapping[str, ModelPrice]) -> list[ModelUsage]:
    """Usage and cost per model, busiest first; past TOP_MODELS the rest share one "other models" line."""
    usages = []
    for model, requests in sorted(aggregator.model_requests.items(), key=lambda item: (-item[1], item[0])):
        input_tokens = aggregator.input_tokens[model]
        output_tokens = aggregator.output_tokens[model]
        price = prices.get(model)
        cost = (
            None
            if price is None
            else (input_tokens * price.input_per_million + output_tokens * price.output_per_million) / 1e6
        )
        usages.append(
            ModelUsage(display_text(model, NAME_TEXT_LIMIT), requests, input_tokens, output_tokens, cost)
        )
    return fold_models(usages, TOP_MODELS)


def fold_models(usages: list[ModelUsage], limit: int) -> list[ModelUsage]:
    """At most `limit` lines: past that, the quietest models share one line, so the totals still add up when
    the list is cut. A limit of 0 folds every model into that one line."""
    if not usages or 0 < len(usages) <= limit:
        return usages
    kept, rest = usages[: max(limit - 1, 0)], usages[max(limit - 1, 0) :]
    costs = [usage.cost for usage in rest if usage.cost is not None]
    other = ModelUsage(
        f"{len(rest)} other models" if kept else f"{len(rest)} models",
        sum(usage.requests for usage in rest),
        sum(usage.input_tokens for usage in rest),
        sum(usage.output_tokens for usage in rest),
        sum(costs) if costs else None,
    )
    return [*kept, other]


def _change(current: int, previous: int) -> Change:
    return Change(current, previous, change(current, previous))


def data_quality(
    aggregator: WeekAggregator,
    quarantined: Iterable[Quarantined],
    dlq_depth: int | None,
    pending: int | None,
) -> DataQuality:
    reasons: Counter[str] = Counter()
    count = 0
    for event in quarantined:
        if aggregator.week.contains_ms(event.received_at):
            count += 1
            reasons[event.reason] += 1
    return DataQuality(
        query_only=aggregator.query_only,
        response_only=aggregator.response_only,
        healed=aggregator.healed,
        quarantined=count,
        quarantine_reasons=_ranked(reasons, TOP_ORIGINS),
        dlq_depth=dlq_depth,
        pending=pending,
        response_before_query=aggregator.response_before_query,
    )


def build_insights(
    current: WeekAggregator,
    previous: WeekAggregator,
    quality: DataQuality,
    prices: Mapping[str, ModelPrice],
    currency: str,
) -> WeekInsights:
    """The figures of `current`, compared with `previous` (the week before)."""
    totals, before = current.totals(), previous.totals()
    week = current.week
    return WeekInsights(
        week=str(week),
        label=week.label(),
        totals=totals,
        previous=before,
        requests_change=_change(totals.requests, before.requests),
        answered_change=_change(totals.answered, before.answered),
        latency=_latency(current.latencies),
        cache_hit_rate=current.cache_hits / current.cache_known if current.cache_known else None,
        models=_models(current, prices),
        currency=currency,
        match=MatchQuality(
            full=current.match_counts["full"],
            partial=current.match_counts["partial"],
            none=current.match_counts["none"],
            average_score=current.score_total / current.scored if current.scored else None,
        ),
        top_questions=top_questions(current.questions, TOP_QUESTIONS, QUESTION_TEXT_LIMIT),
        distinct_questions=len(current.questions),
        unanswered=top_questions(current.unanswered, TOP_UNANSWERED, QUESTION_TEXT_LIMIT),
        unanswered_total=current.unanswered_total,
        sources=_ranked(current.sources, TOP_SOURCES, SOURCE_TEXT_LIMIT),
        traffic=[
            DayTraffic(day, current.day_requests[index], current.day_unanswered[index])
            for index, day in enumerate(week.days)
        ],
        countries=_ranked(current.countries, TOP_ORIGINS),
        referrers=_ranked(current.referrers, TOP_ORIGINS),
        data_quality=quality,
    )
