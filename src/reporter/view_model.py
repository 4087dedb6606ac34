"""What the email says about a week: the view model the templates render and the size fitting shortens.

Frozen values and what follows from them directly (a rate, a total); the figures are computed in
`reporter.aggregation`, and the lengths of the lists and their lines are chosen here, where they are shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

TOP_QUESTIONS = 10
TOP_UNANSWERED = 10
TOP_WEAK = 5
TOP_REFUSED = 3
TOP_SOURCES = 10
TOP_ORIGINS = 5
TOP_MODELS = 8
QUESTION_TEXT_LIMIT = 140
NAME_TEXT_LIMIT = 60
SOURCE_TEXT_LIMIT = 40
REQUEST_ID_LIMIT = 40
# Below this many answers a percentile is rough: the 95th of 8 answer times is nearly the slowest one.
PRECISE_PERCENTILE_COUNT = 20


@dataclass(frozen=True)
class Ranked:
    """One line of a ranked list: a name and how often it came up."""

    name: str
    count: int


@dataclass(frozen=True)
class QuestionGroup:
    """One line of a question list in the report: one question, however many ways it was worded."""

    text: str  # the most asked wording, shown as the group's representative
    count: int
    wordings: int
    average_score: float | None
    topic: str | None = None  # the topic it was recognised as, None for a group of the week's own
    new: bool = False  # not asked in the four weeks before
    best_score: float | None = None
    # The CV sections that came closest to answering it, with how many of its answers cited each.
    closest: tuple[Ranked, ...] = ()


@dataclass(frozen=True)
class Totals:
    """Every request of the week, once each, by what became of it."""

    requests: int
    answered: int
    sessions: int | None
    refused: int = 0
    failed: int = 0
    missing: int = 0
    # Past 512 sessions the count is a HyperLogLog estimate (1.6 % standard error), shown as "about".
    sessions_estimated: bool = False

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
class DayTraffic:
    """One day of the week's traffic row: its local date, its requests, and those the CV could not answer."""

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
    # Request ids to look up in the functions' logs, the earliest first (a few of each, however many failed).
    error_ids: list[str] = field(default_factory=list)
    orphan_ids: list[str] = field(default_factory=list)
    response_before_query: int = 0  # records whose response is timed before their query


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
    # Questions whose wordings were too rarely asked to be kept in a busy day's rollup: counted, not listed.
    left_out: int = 0
    # True when lists were cut below their usual length to keep the email under Gmail's clipping limit.
    shortened: bool = False

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
