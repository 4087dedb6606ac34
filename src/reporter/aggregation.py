"""The weeks a report reads, as local days' figures, and the insights built from them: no I/O.

`WeekAggregator` holds one week as seven local days of `reporter.figures.Figures`: a day is counted from its
records (one pass, keeping only counters, sketches and per-wording tallies) or merged in whole from its
rollup. `WeekRouter` hands each record or rollup of the weeks a report reads to its week, and
`build_insights` turns the weeks plus the data-quality readings into the view model the templates render
(`reporter.view_model.WeekInsights`).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date

from reporter.figures import FAILED_IDS, WORDING_LISTS, Figures, FiguresCounter, LeftOut
from reporter.grouping import QuestionGrouper, group_wordings
from reporter.period import ReportWeek
from reporter.questions import QuestionTally, display_text, question_groups
from reporter.records import MISSING, Quarantined, Request
from reporter.settings import ModelPrice
from reporter.sketches import LatencySketch
from reporter.stats import change
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

HISTORY_WEEKS = 8
# A topic is new when none of its wordings was asked in this many weeks before.
NEW_TOPIC_WEEKS = 4


class WeekAggregator:
    """One week's figures, counted from records or merged in from day rollups, and its requests per day.

    Records outside the week are ignored. A day's rollup is merged in whole and then dropped, so memory holds
    one set of figures per week, whatever mix of records and rollups it was made from.
    """

    def __init__(self, week: ReportWeek) -> None:
        self.week = week
        self._start = week.start_ms
        self._end = week.end_ms
        self._day_bounds = week.day_bounds_ms()
        self._counter = FiguresCounter()
        self.day_requests = [0] * 7
        self.day_unanswered = [0] * 7

    @property
    def figures(self) -> Figures:
        return self._counter.figures

    def add_all(self, records: Iterable[Request]) -> WeekAggregator:
        add = self.add
        for record in records:
            add(record)
        return self

    def add(self, record: Request) -> None:
        timestamp = record.timestamp
        if not self._start <= timestamp < self._end:
            return
        day = bisect_right(self._day_bounds, timestamp)
        self.day_requests[day] += 1
        if self._counter.add(record) == MISSING:
            self.day_unanswered[day] += 1

    def day_of(self, timestamp: int) -> date:
        """The local day of a timestamp inside the week."""
        return self.week.days[bisect_right(self._day_bounds, timestamp)]

    def add_day(self, day: date, figures: Figures) -> None:
        """A local day's figures from its rollup, taken over (`figures` is not to be used again)."""
        index = (day - self.week.monday).days
        self.day_requests[index] += figures.requests
        self.day_unanswered[index] += figures.missing
        self._counter.figures.merge(figures, take=True)

    def totals(self) -> Totals:
        figures = self.figures
        sessions = figures.sessions.estimate()
        return Totals(
            figures.requests,
            figures.answered,
            sessions or None,
            refused=figures.refused,
            failed=figures.failed,
            missing=figures.missing,
            sessions_estimated=not figures.sessions.exact,
        )

    def headline(self, prices: Mapping[str, ModelPrice]) -> WeekHeadline:
        latency = _latency(self.figures.latency)
        costs = [usage.cost for usage in _models(self.figures, prices) if usage.cost is not None]
        return WeekHeadline(
            week=str(self.week),
            monday=self.week.monday,
            requests=self.figures.requests,
            answer_rate=self.totals().answer_rate,
            median_ms=latency.p50 if latency else None,
            cost=sum(costs) if costs else None,
        )


def _ranked(counter: Counter[str], limit: int, text_limit: int = NAME_TEXT_LIMIT) -> list[Ranked]:
    ordered = sorted(counter.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return [Ranked(display_text(name, text_limit), count) for name, count in ordered]


def _latency(sketch: LatencySketch) -> Latency | None:
    """Percentiles within the sketch's relative accuracy (2 %); the extremes are exact."""
    if not sketch.count or sketch.minimum is None or sketch.maximum is None:
        return None
    return Latency(
        count=sketch.count,
        p50=sketch.percentile(50),
        p95=sketch.percentile(95),
        p99=sketch.percentile(99),
        minimum=sketch.minimum,
        maximum=sketch.maximum,
    )


def _models(figures: Figures, prices: Mapping[str, ModelPrice]) -> list[ModelUsage]:
    """Usage and cost per model, busiest first; past TOP_MODELS the rest share one "other models" line."""
    usages = []
    for model, requests in sorted(figures.model_requests.items(), key=lambda item: (-item[1], item[0])):
        input_tokens = figures.input_tokens[model]
        output_tokens = figures.output_tokens[model]
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
    figures = aggregator.figures
    return DataQuality(
        query_only=figures.query_only,
        response_only=figures.response_only,
        healed=figures.healed,
        quarantined=count,
        quarantine_reasons=_ranked(reasons, TOP_ORIGINS),
        dlq_depth=dlq_depth,
        pending=pending,
        errors=figures.errors,
        error_ids=_earliest_ids(figures.error_ids),
        orphan_ids=_earliest_ids(figures.orphan_ids),
        response_before_query=figures.response_before_query,
    )


def _wordings(weeks: Iterable[WeekAggregator]) -> dict[str, tuple[str, int]]:
    """Every wording asked in `weeks`: key -> (its first spelling, times asked)."""
    wordings: dict[str, tuple[str, int]] = {}
    for aggregator in weeks:
        for key, tally in aggregator.figures.questions.items():
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
    figures = current.figures
    group_of, topics = group_wordings(grouper, _wordings([*earlier, current]))
    earlier_groups = {
        group_of.get(key, key) for aggregator in earlier for key in aggregator.figures.questions
    }

    def groups(tallies: dict[str, QuestionTally]) -> list[QuestionGroup]:
        return question_groups(tallies, group_of, topics, earlier_groups, QUESTION_TEXT_LIMIT)

    asked = groups(figures.questions)
    # A partial match means the bot answered from a loosely related part of the CV: the weakest of them are
    # the answers most likely to be wrong.
    weak = [group for group in groups(figures.partial) if group.average_score is not None]
    weak.sort(key=lambda group: (group.average_score, -group.count, group.text))
    refused = sorted(figures.refused_questions.values(), key=lambda tally: (-tally.count, tally.example))
    return WeekInsights(
        week=str(week),
        label=week.label(),
        totals=totals,
        previous=before,
        requests_change=_change(totals.requests, before.requests),
        answered_change=_change(totals.answered, before.answered),
        latency=_latency(figures.latency),
        cache_hit_rate=figures.cache_hits / figures.cache_known if figures.cache_known else None,
        models=_models(figures, prices),
        currency=currency,
        match=MatchQuality(
            full=figures.match_counts["full"],
            partial=figures.match_counts["partial"],
            none=figures.match_counts["none"],
            average_score=figures.average_score,
        ),
        top_questions=asked[:TOP_QUESTIONS],
        distinct_questions=len(figures.questions),
        question_groups=len(asked),
        unanswered=groups(figures.unanswered)[:TOP_UNANSWERED],
        unanswered_total=figures.missing,
        weak=weak[:TOP_WEAK],
        weak_total=sum(group.count for group in weak),
        refused_examples=[
            Ranked(display_text(tally.example, QUESTION_TEXT_LIMIT), tally.count)
            for tally in refused[:TOP_REFUSED]
        ],
        sources=_ranked(figures.sources, TOP_SOURCES, SOURCE_TEXT_LIMIT),
        traffic=[
            DayTraffic(day, current.day_requests[index], current.day_unanswered[index])
            for index, day in enumerate(week.days)
        ],
        countries=_ranked(figures.countries, TOP_ORIGINS),
        referrers=_ranked(figures.referrers, TOP_ORIGINS),
        data_quality=quality,
        history=[aggregator.headline(prices) for aggregator in weeks[-HISTORY_WEEKS:]],
        left_out=figures.left_out.get("questions", LeftOut()).questions,
    )


def report_weeks(week: ReportWeek) -> list[ReportWeek]:
    """The HISTORY_WEEKS weeks a report reads, oldest first, ending with `week`."""
    weeks = [week]
    while len(weeks) < HISTORY_WEEKS:
        weeks.append(weeks[-1].previous())
    return weeks[::-1]


class WeekRouter:
    """Sends each record, or each day's rollup, to the week it falls in: one pass over consecutive weeks."""

    def __init__(self, aggregators: list[WeekAggregator]) -> None:
        self.aggregators = aggregators
        self._starts = [aggregator.week.start_ms for aggregator in aggregators]
        self._end = aggregators[-1].week.end_ms
        self._week_of_day = {day: aggregator for aggregator in aggregators for day in aggregator.week.days}

    @classmethod
    def ending(cls, week: ReportWeek) -> WeekRouter:
        """The weeks a report of `week` reads (`report_weeks`), each with an empty aggregator."""
        return cls([WeekAggregator(each) for each in report_weeks(week)])

    def local_days(self) -> list[date]:
        """Every local day of the weeks, in order."""
        return [day for aggregator in self.aggregators for day in aggregator.week.days]

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

    def add_all(self, records: Iterable[Request], days: frozenset[date] | None = None) -> None:
        """Records, each to its week; with `days`, only those of these local days (the others come from
        rollups)."""
        starts, aggregators, end = self._starts, self.aggregators, self._end
        for record in records:
            index = bisect_right(starts, record.timestamp) - 1
            if index >= 0 and record.timestamp < end:
                aggregator = aggregators[index]
                if days is None or aggregator.day_of(record.timestamp) in days:
                    aggregator.add(record)

    def add_day(self, day: date, figures: Figures) -> None:
        """A local day's rollup (taken over); a day outside the weeks is ignored."""
        aggregator = self._week_of_day.get(day)
        if aggregator is not None:
            aggregator.add_day(day, figures)

    def lists_for(self, day: date) -> tuple[str, ...]:
        """The wording lists a day's rollup must bring: all for the reported week, the questions alone for
        the weeks that say which topics are new, none for the weeks that only give a headline."""
        aggregator = self._week_of_day.get(day)
        if aggregator is None:
            return ()
        position = len(self.aggregators) - 1 - self.aggregators.index(aggregator)
        if position == 0:
            return WORDING_LISTS
        return ("questions",) if position <= NEW_TOPIC_WEEKS else ()
