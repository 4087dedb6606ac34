"""The week's figures, computed in one pass over the records: pure functions, no I/O.

`WeekAggregator` takes records one at a time (from DynamoDB pages, a test list or a benchmark generator)
and keeps only counters, a latency array and per-question tallies, so memory grows with the number of
distinct questions and sessions, not with the number of records. `build_insights` turns two aggregated
weeks plus the data-quality readings into the `WeekInsights` the templates render.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property

from contract.rollup import (
    ANONYMOUS_SESSION,
    ASKED,
    ASKED_SCORE,
    ASKED_SCORED,
    BEFORE_QUESTION,
    CACHE_HITS,
    CACHE_KNOWN,
    COUNTRY,
    DAY_MS,
    DECIMALS,
    ERROR_IDS,
    ERRORS,
    FATES,
    HEALED,
    HOUR_MS,
    LATENCY,
    MATCH_TYPES,
    MATCHES,
    MODEL_INPUT,
    MODEL_OUTPUT,
    MODEL_REQUESTS,
    ORPHAN_IDS,
    ORPHAN_QUERIES,
    ORPHAN_RESPONSES,
    PARTIAL,
    PARTIAL_SCORE,
    PARTIAL_SCORED,
    QUESTIONS,
    REFERRER,
    REFUSED_ASKED,
    REQUESTS,
    SCORE_TOTAL,
    SCORED,
    SESSIONS,
    SOURCE,
    UNANSWERED,
    UNANSWERED_SCORE,
    UNANSWERED_SCORED,
    ZERO_BUCKET,
    HourRollup,
    RollupItems,
    WordingRollup,
    bucket_value,
    parse_listed_id,
    read_items,
    sessions_estimate,
    source_counts,
)
from reporter.grouping import QuestionGrouper, group_wordings
from reporter.period import ReportWeek
from reporter.questions import QuestionGroup, QuestionTally, display_text, question_groups
from reporter.records import ANSWERED, FAILED, MISSING, REFUSED, Quarantined, Request
from reporter.settings import ModelPrice
from reporter.stats import change, histogram_percentile

_ASKED, _UNANSWERED, _PARTIAL, _REFUSED = "asked", "unanswered", "partial", "refused"
# Per list, the wording item's fields (per hour) holding its count, score total and scored answers.
_LISTS: dict[str, tuple[str, str | None, str | None]] = {
    _ASKED: (ASKED, ASKED_SCORE, ASKED_SCORED),
    _UNANSWERED: (UNANSWERED, UNANSWERED_SCORE, UNANSWERED_SCORED),
    _PARTIAL: (PARTIAL, PARTIAL_SCORE, PARTIAL_SCORED),
    _REFUSED: (REFUSED_ASKED, None, None),
}
_BUCKET_START = frozenset("-0123456789")
TOP_QUESTIONS = 10
TOP_UNANSWERED = 10
TOP_WEAK = 5
TOP_REFUSED = 3
# Request ids listed per kind of failure in data quality; the count is always complete.
FAILED_IDS = 10
# Below this many answers a percentile is rough: the 95th of 8 answer times is nearly the slowest one.
PRECISE_PERCENTILE_COUNT = 20
HISTORY_WEEKS = 8
# A topic is new when none of its wordings was asked in this many weeks before.
NEW_TOPIC_WEEKS = 4
REQUEST_ID_LIMIT = 40
TOP_SOURCES = 10
TOP_ORIGINS = 5
TOP_MODELS = 8
QUESTION_TEXT_LIMIT = 140
NAME_TEXT_LIMIT = 60
SOURCE_TEXT_LIMIT = 40


@dataclass(frozen=True)
class Totals:
    """Every request of the week, once each, by what became of it."""

    requests: int
    answered: int
    sessions: int | None
    refused: int = 0
    failed: int = 0
    missing: int = 0

    @property
    def asked(self) -> int:
        """The questions the answer rate is computed from: every request but the refused ones."""
        return self.requests - self.refused

    @property
    def answer_rate(self) -> float | None:
        return self.answered / self.asked if self.asked else None


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

    @property
    def rough(self) -> bool:
        """Too few answers for the upper percentiles to mean much."""
        return self.count < PRECISE_PERCENTILE_COUNT


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
    errors: int = 0
    # Request ids to look up in the functions' logs, the earliest first (at most FAILED_IDS of each).
    error_ids: list[str] = field(default_factory=list)
    orphan_ids: list[str] = field(default_factory=list)
    response_before_query: int = 0  # records whose response is timed before their query

    @property
    def orphans(self) -> int:
        return self.query_only + self.response_only


@dataclass(frozen=True)
class WeekHeadline:
    """One week's headline figures, for the eight-week row."""

    week: str
    monday: date
    requests: int
    answer_rate: float | None
    median_ms: float | None
    cost: float | None


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
    question_groups: int
    unanswered: list[QuestionGroup]
    unanswered_total: int
    weak: list[QuestionGroup]
    weak_total: int
    refused_examples: list[Ranked]
    sources: list[Ranked]
    traffic: list[DayTraffic]
    countries: list[Ranked]
    referrers: list[Ranked]
    data_quality: DataQuality
    history: list[WeekHeadline] = field(default_factory=list)
    # True when lists were cut below their usual length to keep the email under Gmail's clipping limit.
    shortened: bool = False
    # Questions counted in the totals whose wordings were left out of the lists (a busy day's long tail of
    # wordings asked once, see reporter.store.WORDING_BUDGET).
    unlisted_questions: int = 0

    @property
    def empty(self) -> bool:
        return self.totals.requests == 0

    @property
    def quiet(self) -> bool:
        """No event at all arrived (no request, nothing malformed) although earlier weeks had traffic: the
        Worker has most likely stopped sending, which is not the same as nobody asking."""
        return (
            self.empty
            and self.data_quality.quarantined == 0
            and any(headline.requests for headline in self.history[:-1])
        )

    @property
    def history_largest(self) -> int:
        return max((headline.requests for headline in self.history), default=0)

    @property
    def total_cost(self) -> float | None:
        costs = [usage.cost for usage in self.models if usage.cost is not None]
        return sum(costs) if costs else None


class _Tally:
    """One wording's figures in one list, summed exactly (as DynamoDB sums them) before they are shown."""

    __slots__ = ("best", "count", "scored", "sources", "total")

    def __init__(self) -> None:
        self.count = 0
        self.total = Decimal(0)
        self.scored = 0
        self.best: Decimal | None = None
        self.sources: Counter[str] = Counter()

    def add(self, count: Decimal, total: Decimal | None, scored: Decimal | None) -> None:
        self.count += int(count)
        if total is not None:
            self.total = DECIMALS.add(self.total, total)
        if scored is not None:
            self.scored += int(scored)

    def tally(self, example: str) -> QuestionTally:
        return QuestionTally(
            example,
            count=self.count,
            score_total=float(self.total),
            scored=self.scored,
            best_score=None if self.best is None else float(self.best),
            sources=self.sources,
        )


class WeekAggregator:
    """Adds up one week's rollups (`contract.rollup`): hour counters and wording tallies outside the week
    are ignored, so a local week is an exact union of UTC hours whatever its DST change.

    Memory grows with the number of distinct wordings and sessions, not with the number of requests. The
    question lists (`questions`, `unanswered`, `partial`, `refused_questions`) are built when first read,
    after everything is added.
    """

    def __init__(self, week: ReportWeek) -> None:
        self.week = week
        self._start = week.start_ms
        self._end = week.end_ms
        self._day_bounds = week.day_bounds_ms()
        self.requests = 0
        self.answered = 0
        self.refused = 0
        self.failed = 0
        self.missing = 0
        self.errors = 0
        self.query_only = 0
        self.response_only = 0
        self.healed = 0
        self.response_before_query = 0
        # Distinct sessions: exactly, from the records, when a week is small enough to read them
        # (`count_sessions`); else estimated from the rollups' sketch (each register's highest rank).
        self.exact_sessions: set[str] | None = None
        self.session_ranks: dict[int, int] = {}
        # Off for the weeks only the eight-week row shows: it has no sessions, and the sketch is most of
        # what an hour item holds at volume.
        self.keeps_sketch = True
        self.latencies: Counter[str] = Counter()  # histogram bucket -> answers (contract.rollup)
        self.cache_hits = 0
        self.cache_known = 0
        self.match_counts = dict.fromkeys(MATCH_TYPES, 0)
        self.score_total = Decimal(0)
        self.scored = 0
        self.model_requests: Counter[str] = Counter()
        self.input_tokens: Counter[str] = Counter()
        self.output_tokens: Counter[str] = Counter()
        # Questions not refused, as the hours count them: more than the wordings hold when a long tail of
        # wordings was left out of a busy day (see reporter.store.WORDING_BUDGET).
        self.asked_questions = 0
        self.error_ids: list[tuple[int, str]] = []
        self.orphan_ids: list[tuple[int, str]] = []
        self.sources: Counter[str] = Counter()
        self.day_requests = [0] * 7
        self.day_unanswered = [0] * 7
        self.countries: Counter[str] = Counter()
        self.referrers: Counter[str] = Counter()
        # The hour item's open-ended counters, by prefix (`m:<model>`, `c:<country>`, ...).
        self._by_prefix: dict[str, Counter[str]] = {
            prefix.rstrip(":"): counter
            for prefix, counter in (
                (MODEL_REQUESTS, self.model_requests),
                (MODEL_INPUT, self.input_tokens),
                (MODEL_OUTPUT, self.output_tokens),
                (SOURCE, self.sources),
                (COUNTRY, self.countries),
                (REFERRER, self.referrers),
            )
        }
        self._spellings: dict[str, str] = {}
        self._lists: dict[str, dict[str, _Tally]] = {name: {} for name in _LISTS}

    def contains(self, epoch_ms: int) -> bool:
        return self._start <= epoch_ms < self._end

    def count_sessions(self, records: Iterable[Request]) -> None:
        """Count the week's sessions exactly from its records (the Worker's placeholder is no session)."""
        self.exact_sessions = (self.exact_sessions or set()) | {
            record.session_id
            for record in records
            if record.session_id
            and record.session_id != ANONYMOUS_SESSION
            and self.contains(record.timestamp)
        }

    @property
    def sessions(self) -> int:
        if self.exact_sessions is not None:
            return len(self.exact_sessions)
        return sessions_estimate(self.session_ranks) if self.session_ranks else 0

    def add_all(self, records: Iterable[Request]) -> WeekAggregator:
        """Add records directly: they are rolled up in memory exactly as the processor rolls them up, and
        having them, the week's sessions are counted exactly."""
        records = list(records)
        hours, wordings = read_items(RollupItems().add_all(records, shards=1).items)
        self.add_rollups(hours, wordings)
        self.count_sessions(records)
        return self

    def add_rollups(self, hours: Iterable[HourRollup], wordings: Iterable[WordingRollup]) -> None:
        for hour in hours:
            self.add_hour(hour)
        for wording in wordings:
            self.add_wording(wording)

    @staticmethod
    def _remember(ids: list[tuple[int, str]], entries: Iterable[str]) -> None:
        """Keep the earliest FAILED_IDS ids: the list stays small however many requests failed."""
        ids.extend(parse_listed_id(entry) for entry in entries)
        if len(ids) > 4 * FAILED_IDS:
            ids.sort()
            del ids[FAILED_IDS:]

    def add_hour(self, hour: HourRollup) -> None:
        if not self._start <= hour.start_ms < self._end:
            return
        count = hour.count
        requests = count(REQUESTS)
        self.requests += requests
        day = bisect_right(self._day_bounds, hour.start_ms)
        self.day_requests[day] += requests
        self.day_unanswered[day] += count(FATES[MISSING])
        self.answered += count(FATES[ANSWERED])
        self.refused += count(FATES[REFUSED])
        self.failed += count(FATES[FAILED])
        self.missing += count(FATES[MISSING])
        self.errors += count(ERRORS)
        self.query_only += count(ORPHAN_QUERIES)
        self.response_only += count(ORPHAN_RESPONSES)
        self.healed += count(HEALED)
        self.response_before_query += count(BEFORE_QUESTION)
        self.cache_hits += count(CACHE_HITS)
        self.cache_known += count(CACHE_KNOWN)
        self.asked_questions += count(QUESTIONS)
        for match_type, name in MATCHES.items():
            self.match_counts[match_type] += count(name)
        self.score_total = DECIMALS.add(self.score_total, hour.numbers.get(SCORE_TOTAL, Decimal(0)))
        self.scored += count(SCORED)
        ranks, sketch = self.session_ranks, self.keeps_sketch
        for name, value in hour.numbers.items():  # one pass over the open-ended counters
            if not value:
                continue
            head = name[0]
            if head == SESSIONS and name[1:2].isdigit():  # not `hl`, the healed count
                if sketch and value > 0:
                    register, _, rank = name[1:].partition(":")
                    index = int(register)
                    ranks[index] = max(ranks.get(index, 0), int(rank))
                continue
            if head == LATENCY and (name == ZERO_BUCKET or name[1:2] in _BUCKET_START):
                self.latencies[name] += int(value)
                continue
            prefix, _, rest = name.partition(":")
            counter = self._by_prefix.get(prefix)
            if counter is not None and rest:
                counter[rest] += int(value)
            elif prefix == ERROR_IDS[:-1] and value > 0:
                self._remember(self.error_ids, (rest,))
            elif prefix == ORPHAN_IDS[:-1] and value > 0:
                self._remember(self.orphan_ids, (rest,))

    def add_wording(self, wording: WordingRollup) -> None:
        """A wording's day, counted in the hours of that day that fall in this week."""
        first: str | None = None
        for hour, fields in wording.hours.items():
            if not self._start <= wording.hour_start_ms(hour) < self._end:
                continue
            first = first or hour
            for name, (count, total, scored) in _LISTS.items():
                asked = fields.get(count)
                if not asked:
                    continue
                tally = self._lists[name].get(wording.key)
                if tally is None:
                    tally = self._lists[name][wording.key] = _Tally()
                tally.add(asked, fields.get(total) if total else None, fields.get(scored) if scored else None)
                if name == _UNANSWERED:
                    tally.sources.update(source_counts(fields))
                    best = max((Decimal(score) for score in wording.best.get(hour, ())), default=None)
                    if best is not None and (tally.best is None or best > tally.best):
                        tally.best = best
        if first is not None and wording.spellings:
            spelling = min(wording.spellings)
            known = self._spellings.get(wording.key)
            self._spellings[wording.key] = spelling if known is None else min(known, spelling)

    def _list(self, name: str) -> dict[str, QuestionTally]:
        return {
            key: tally.tally(self._spellings.get(key, key))
            for key, tally in self._lists[name].items()
            if tally.count
        }

    @cached_property
    def questions(self) -> dict[str, QuestionTally]:
        """Per wording, every question not refused; the gaps, the partial matches and the refused follow."""
        return self._list(_ASKED)

    @cached_property
    def unanswered(self) -> dict[str, QuestionTally]:
        return self._list(_UNANSWERED)

    @cached_property
    def partial(self) -> dict[str, QuestionTally]:
        return self._list(_PARTIAL)

    @cached_property
    def refused_questions(self) -> dict[str, QuestionTally]:
        return self._list(_REFUSED)

    @property
    def unlisted_questions(self) -> int:
        """Questions of the week whose wording was left out (a busy day's wordings asked only once)."""
        return max(self.asked_questions - sum(tally.count for tally in self.questions.values()), 0)

    def totals(self) -> Totals:
        return Totals(
            self.requests,
            self.answered,
            self.sessions or None,
            refused=self.refused,
            failed=self.failed,
            missing=self.missing,
        )

    def headline(self, prices: Mapping[str, ModelPrice]) -> WeekHeadline:
        latency = _latency(self.latencies)
        costs = [usage.cost for usage in _models(self, prices) if usage.cost is not None]
        return WeekHeadline(
            week=str(self.week),
            monday=self.week.monday,
            requests=self.requests,
            answer_rate=self.totals().answer_rate,
            median_ms=latency.p50 if latency else None,
            cost=sum(costs) if costs else None,
        )


def _ranked(counter: Counter[str], limit: int, text_limit: int = NAME_TEXT_LIMIT) -> list[Ranked]:
    ordered = sorted(counter.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return [Ranked(display_text(name, text_limit), count) for name, count in ordered]


def _latency(buckets: Counter[str]) -> Latency | None:
    """Percentiles over the latency histogram: each within contract.rollup.RELATIVE_ACCURACY of the exact
    figure over the same answers."""
    ordered = sorted((bucket_value(bucket), count) for bucket, count in buckets.items() if count > 0)
    if not ordered:
        return None
    return Latency(
        count=sum(count for _, count in ordered),
        p50=histogram_percentile(ordered, 50),
        p95=histogram_percentile(ordered, 95),
        p99=histogram_percentile(ordered, 99),
        minimum=ordered[0][0],
        maximum=ordered[-1][0],
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


def _earliest_ids(ids: list[tuple[int, str]]) -> list[str]:
    return [display_text(request_id, REQUEST_ID_LIMIT) for _, request_id in sorted(ids)[:FAILED_IDS]]


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
        errors=aggregator.errors,
        error_ids=_earliest_ids(aggregator.error_ids),
        orphan_ids=_earliest_ids(aggregator.orphan_ids),
        response_before_query=aggregator.response_before_query,
    )


def _wordings(weeks: Iterable[WeekAggregator]) -> dict[str, tuple[str, int]]:
    """Every wording asked in `weeks`: key -> (its first spelling, times asked)."""
    wordings: dict[str, tuple[str, int]] = {}
    for aggregator in weeks:
        for key, tally in aggregator.questions.items():
            example, count = wordings.get(key, (tally.example, 0))
            wordings[key] = (example, count + tally.count)
    return wordings


def build_insights(
    weeks: list[WeekAggregator],
    quality: DataQuality,
    prices: Mapping[str, ModelPrice],
    currency: str,
    grouper: QuestionGrouper | None,
) -> WeekInsights:
    """The figures of the last of `weeks` (oldest first, consecutive), compared with the week before it;
    the weeks before that give the eight-week row and say which topics are new."""
    current = weeks[-1]
    previous = weeks[-2] if len(weeks) > 1 else WeekAggregator(current.week.previous())
    earlier = weeks[-1 - NEW_TOPIC_WEEKS : -1]
    totals, before = current.totals(), previous.totals()
    week = current.week
    group_of, topics = group_wordings(grouper, _wordings([*earlier, current]))
    earlier_groups = {group_of.get(key, key) for aggregator in earlier for key in aggregator.questions}

    def groups(tallies: dict[str, QuestionTally]) -> list[QuestionGroup]:
        return question_groups(tallies, group_of, topics, earlier_groups, QUESTION_TEXT_LIMIT)

    asked = groups(current.questions)
    # A partial match means the bot answered from a loosely related part of the CV: the weakest of them are
    # the answers most likely to be wrong.
    weak = [group for group in groups(current.partial) if group.average_score is not None]
    weak.sort(key=lambda group: (group.average_score, -group.count, group.text))
    refused = sorted(current.refused_questions.values(), key=lambda tally: (-tally.count, tally.example))
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
            average_score=float(current.score_total) / current.scored if current.scored else None,
        ),
        top_questions=asked[:TOP_QUESTIONS],
        distinct_questions=len(current.questions),
        question_groups=len(asked),
        unanswered=groups(current.unanswered)[:TOP_UNANSWERED],
        unanswered_total=current.missing,
        weak=weak[:TOP_WEAK],
        weak_total=sum(group.count for group in weak),
        refused_examples=[
            Ranked(display_text(tally.example, QUESTION_TEXT_LIMIT), tally.count)
            for tally in refused[:TOP_REFUSED]
        ],
        sources=_ranked(current.sources, TOP_SOURCES, SOURCE_TEXT_LIMIT),
        traffic=[
            DayTraffic(day, current.day_requests[index], current.day_unanswered[index])
            for index, day in enumerate(week.days)
        ],
        countries=_ranked(current.countries, TOP_ORIGINS),
        referrers=_ranked(current.referrers, TOP_ORIGINS),
        data_quality=quality,
        history=[aggregator.headline(prices) for aggregator in weeks[-HISTORY_WEEKS:]],
        unlisted_questions=current.unlisted_questions,
    )


def report_weeks(week: ReportWeek) -> list[ReportWeek]:
    """The HISTORY_WEEKS weeks a report reads, oldest first, ending with `week`."""
    weeks = [week]
    while len(weeks) < HISTORY_WEEKS:
        weeks.append(weeks[-1].previous())
    return weeks[::-1]


class WeekRouter:
    """Sends each rollup to the aggregators of the weeks it overlaps: an hour falls in one week, a
    wording's UTC day in at most two (each takes only its own hours)."""

    def __init__(self, aggregators: list[WeekAggregator]) -> None:
        self.aggregators = aggregators
        self._starts = [aggregator.week.start_ms for aggregator in aggregators]
        self._end = aggregators[-1].week.end_ms

    def _weeks(self, start_ms: int, end_ms: int) -> list[WeekAggregator]:
        first = max(bisect_right(self._starts, start_ms) - 1, 0)
        last = bisect_right(self._starts, end_ms - 1) - 1
        if last < 0 or start_ms >= self._end:
            return []
        return self.aggregators[first : last + 1]

    def add_rollups(self, hours: Iterable[HourRollup], wordings: Iterable[WordingRollup]) -> None:
        for hour in hours:
            for aggregator in self._weeks(hour.start_ms, hour.start_ms + HOUR_MS):
                aggregator.add_hour(hour)
        for wording in wordings:
            for aggregator in self._weeks(wording.day_ms, wording.day_ms + DAY_MS):
                aggregator.add_wording(wording)

    def add_all(self, records: Iterable[Request]) -> None:
        """Records rolled up in memory, as the processor rolls them up, then routed; each week's sessions
        are counted exactly from them."""
        records = list(records)
        self.add_rollups(*read_items(RollupItems().add_all(records, shards=1).items))
        for aggregator in self.aggregators:
            aggregator.count_sessions(records)
