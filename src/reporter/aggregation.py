"""The week's figures, computed in one pass over the records: pure functions, no I/O.

`WeekAggregator` takes records one at a time (from DynamoDB pages, a test list or a benchmark generator)
and keeps only counters, a latency array and per-question tallies, so memory grows with the number of
distinct questions and sessions, not with the number of records. `WeekRouter` hands each record of the
weeks a report reads to its week's aggregator, and `build_insights` turns the aggregated weeks plus the
data-quality readings into the view model the templates render (`reporter.view_model.WeekInsights`).
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date
from urllib.parse import urlsplit

from contract.tables import QUERY_ONLY, RESPONSE_ONLY
from reporter.grouping import QuestionGrouper, group_wordings
from reporter.period import ReportWeek
from reporter.questions import QuestionTally, display_text, normalise, question_groups
from reporter.records import ANSWERED, ERROR, FAILED, MISSING, REFUSED, Quarantined, Request, fate
from reporter.settings import ModelPrice
from reporter.stats import change, percentile
from reporter.view_model import (
    NAME_TEXT_LIMIT,
    QUESTION_TEXT_LIMIT,
    REQUEST_ID_LIMIT,
    SOURCE_TEXT_LIMIT,
    TOP_MODELS,
    TOP_ORIGINS,
    TOP_QUESTIONS,
    TOP_REFUSED,
    TOP_SOURCES,
    TOP_UNANSWERED,
    TOP_WEAK,
    Change,
    DataQuality,
    DayTraffic,
    Latency,
    MatchQuality,
    ModelUsage,
    QuestionGroup,
    Ranked,
    Totals,
    WeekHeadline,
    WeekInsights,
    fold_models,
)

# The Worker sends this when it has no session; it says nothing about how many people asked.
ANONYMOUS_SESSION = "anonymous"
MATCH_TYPES = ("full", "partial", "none")
# Request ids listed per kind of failure in data quality; the count is always complete.
FAILED_IDS = 10
HISTORY_WEEKS = 8
# A topic is new when none of its wordings was asked in this many weeks before.
NEW_TOPIC_WEEKS = 4


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
        self.refused = 0
        self.failed = 0
        self.missing = 0
        self.errors = 0
        self.query_only = 0
        self.response_only = 0
        self.healed = 0
        self.response_before_query = 0
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
        # Per wording: every question not refused, the gaps, the partial matches, the refused ones.
        self.questions: dict[str, QuestionTally] = {}
        self.unanswered: dict[str, QuestionTally] = {}
        self.partial: dict[str, QuestionTally] = {}
        self.refused_questions: dict[str, QuestionTally] = {}
        self.error_ids: list[tuple[int, str]] = []
        self.orphan_ids: list[tuple[int, str]] = []
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

    @staticmethod
    def _tally(tallies: dict[str, QuestionTally], key: str, example: str) -> QuestionTally:
        tally = tallies.get(key)
        if tally is None:
            tally = tallies[key] = QuestionTally(example)
        return tally

    @staticmethod
    def _remember(ids: list[tuple[int, str]], timestamp: int, request_id: str) -> None:
        """Keep the earliest FAILED_IDS ids: the list stays small however many requests failed."""
        ids.append((timestamp, request_id))
        if len(ids) > 4 * FAILED_IDS:
            ids.sort()
            del ids[FAILED_IDS:]

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
            self._remember(self.orphan_ids, timestamp, record.request_id)
        elif correlation == RESPONSE_ONLY:
            self.response_only += 1
        if record.healed:
            self.healed += 1
        session = record.session_id
        if session and session != ANONYMOUS_SESSION:
            self.sessions.add(session)
        kind = fate(record)
        if kind == ANSWERED:
            self.answered += 1
        elif kind == REFUSED:
            self.refused += 1
        elif kind == FAILED:
            self.failed += 1
            if record.outcome == ERROR:
                self.errors += 1
                self._remember(self.error_ids, timestamp, record.request_id)
        else:
            self.missing += 1
            self.day_unanswered[day] += 1
        match_type = record.match_type
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
            if kind == REFUSED:
                self._tally(self.refused_questions, key, question).add(score)
            else:
                tally = self._tally(self.questions, key, question)
                tally.add(score)
                if kind == MISSING:
                    self._tally(self.unanswered, key, tally.example).add(score, record.sources)
                elif kind == ANSWERED and match_type == "partial":
                    self._tally(self.partial, key, tally.example).add(score, record.sources)
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
        return Totals(
            self.requests,
            self.answered,
            len(self.sessions) or None,
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
            average_score=current.score_total / current.scored if current.scored else None,
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
    )


def report_weeks(week: ReportWeek) -> list[ReportWeek]:
    """The HISTORY_WEEKS weeks a report reads, oldest first, ending with `week`."""
    weeks = [week]
    while len(weeks) < HISTORY_WEEKS:
        weeks.append(weeks[-1].previous())
    return weeks[::-1]


class WeekRouter:
    """Sends each record to the aggregator of the week it falls in: one pass over consecutive weeks."""

    def __init__(self, aggregators: list[WeekAggregator]) -> None:
        self.aggregators = aggregators
        self._starts = [aggregator.week.start_ms for aggregator in aggregators]
        self._end = aggregators[-1].week.end_ms

    @classmethod
    def ending(cls, week: ReportWeek) -> WeekRouter:
        """The weeks a report of `week` reads (`report_weeks`), each with an empty aggregator."""
        return cls([WeekAggregator(each) for each in report_weeks(week)])

    def utc_days(self) -> list[date]:
        """Every UTC day the weeks touch, in order: the day partitions to read."""
        return sorted({day for aggregator in self.aggregators for day in aggregator.week.utc_days()})

    def insights(
        self,
        quarantined: Iterable[Quarantined],
        dlq_depth: int | None,
        pending: int | None,
        *,
        prices: Mapping[str, ModelPrice],
        currency: str,
        grouper: QuestionGrouper | None,
    ) -> WeekInsights:
        """The last week's insights from what was added, with the data-quality readings taken beside it."""
        quality = data_quality(self.aggregators[-1], quarantined, dlq_depth, pending)
        return build_insights(self.aggregators, quality, prices, currency, grouper)

    def add_all(self, records: Iterable[Request]) -> None:
        starts, aggregators, end = self._starts, self.aggregators, self._end
        for record in records:
            index = bisect_right(starts, record.timestamp) - 1
            if index >= 0 and record.timestamp < end:
                aggregators[index].add(record)
