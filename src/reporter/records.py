"""What the insights read about one request or one quarantined event: plain values, no I/O.

The data-access layer turns DynamoDB items into these, and the benchmarks and tests build them directly, so
every insight is a pure function over them.
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True, slots=True)
class Quarantined:
    """A message the processor could not accept: when, and why."""

    message_id: str
    received_at: int
    reason: str
    path: str = ""
