"""What the insights read about one request or one quarantined event: plain values, no I/O.

The data-access layer turns DynamoDB items into these, and the benchmarks and tests build them directly, so
every insight is a pure function over them.
"""

from __future__ import annotations

from dataclasses import dataclass

# Outcomes that mean the bot had nothing to say, besides a response with match type none.
UNANSWERED_OUTCOMES = frozenset({"no_results", "error"})


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


@dataclass(frozen=True, slots=True)
class Quarantined:
    """A message the processor could not accept: when, and why."""

    message_id: str
    received_at: int
    reason: str
    path: str = ""
