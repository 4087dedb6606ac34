"""What a report counts about one request, and what became of it: plain values, no I/O.

Both the processor (which adds each final record to its rollup) and the reporter read requests this way, so
the two can never disagree on what a record means. `facts_of` reads any object with the record's attribute
names: the processor's `FinalRecord` and the table's `RequestRecord` alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from contract.tables import QUERY_ONLY

REJECTED = "rejected"
ERROR = "error"
NO_RESULTS = "no_results"

# What became of a request, as the report counts it. Each request has exactly one.
REFUSED = "refused"  # the bot rightly declined it: a prompt injection, an off-topic request
FAILED = "failed"  # it broke: the Worker answered with an error, or no response ever arrived
MISSING = "missing"  # a fair question the CV data could not answer: what to add to the CV
ANSWERED = "answered"  # something in the CV matched


@dataclass(frozen=True, slots=True)
class Request:
    """One request's final record, reduced to what the report uses. Times in epoch ms, durations in ms."""

    request_id: str
    correlation: str
    timestamp: int
    session_id: str | None = None
    question: str | None = None
    match_type: str | None = None
    match_score: float | None = None
    latency_ms: float | None = None
    cache_hit: bool | None = None
    sources: tuple[str, ...] = ()
    model: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    status: int | None = None
    outcome: str | None = None
    country: str | None = None
    referer: str | None = None
    healed: bool = False
    # Timed before its query beyond the processor's clock-skew allowance: no latency, counted in data quality.
    response_before_query: bool = False


def fate(record: Request) -> str:
    """Which of the report's lists a request belongs to: refused first (a refused request is not a failure
    and not a gap), then failed, then whether the CV had anything to say."""
    if record.outcome == REJECTED:
        return REFUSED
    if record.outcome == ERROR or record.correlation == QUERY_ONLY:
        return FAILED
    if record.match_type == "none" or record.outcome == NO_RESULTS or record.match_type is None:
        return MISSING
    return ANSWERED


def _int(value: float | None) -> int | None:
    return None if value is None else int(value)


def time_of(item: Any) -> int:
    """When a record counts: when the question was asked, or answered for an orphan response."""
    timestamp = item.query_time if item.query_time is not None else item.response_time
    return int(timestamp if timestamp is not None else item.recorded_at)


def facts_of(item: Any) -> Request:
    """The report's view of a record: its time is `time_of`'s, its latency the end-to-end time when known,
    else what the Worker measured."""
    latency: float | None = item.latency_ms if item.latency_ms is not None else item.worker_total_ms
    if item.response_before_query:  # impossible data: no latency figure rests on it
        latency = None
    return Request(
        request_id=item.request_id,
        correlation=item.correlation,
        timestamp=time_of(item),
        session_id=item.session_id,
        question=item.question,
        match_type=item.match_type,
        match_score=item.match_score,
        latency_ms=latency,
        cache_hit=item.cache_hit,
        sources=tuple(cast(list[str], item.sources or [])),
        model=item.model,
        input_tokens=_int(item.input_tokens),
        output_tokens=_int(item.output_tokens),
        status=_int(item.status),
        outcome=item.outcome,
        country=item.country,
        referer=item.referer,
        healed=bool(item.healed),
        response_before_query=bool(item.response_before_query),
    )
