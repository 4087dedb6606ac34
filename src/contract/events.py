"""Typed forms of the two events the Worker sends for every chat request.

The parser builds these from JSON already checked against the schema, so the types here can be trusted
without re-checking. `raw` keeps the event exactly as received: unknown fields are part of the contract
("kept, not rejected") and are stored with the request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

EventType = Literal["query", "response"]
MatchType = Literal["full", "partial", "none"]


@dataclass(frozen=True, slots=True)
class Tokens:
    input: int | None = None
    output: int | None = None


@dataclass(frozen=True, slots=True)
class Performance:
    """Timings the Worker measured itself, in milliseconds."""

    total_time: float | None = None
    llm_time: float | None = None
    retrieval_time: float | None = None
    cache_hit: bool | None = None


@dataclass(frozen=True, slots=True)
class QueryMetadata:
    user_agent: str | None = None
    referer: str | None = None
    country: str | None = None


@dataclass(frozen=True, slots=True)
class ResponseMetadata:
    match_quality: float | None = None
    sources_used: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _EventBase:
    request_id: str
    timestamp: int
    session_id: str | None
    schema_version: int | None
    status: int | None
    outcome: str | None
    model: str | None
    tokens: Tokens | None
    raw: dict[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class QueryEvent(_EventBase):
    """Sent when a recruiter's question reaches the Worker."""

    query: str
    metadata: QueryMetadata

    @property
    def event_type(self) -> Literal["query"]:
        return "query"


@dataclass(frozen=True, slots=True)
class ResponseEvent(_EventBase):
    """Sent when the Worker has answered (today: only when it found CV matches)."""

    match_type: MatchType
    match_score: float
    reasoning: str
    vector_matches: int | None
    performance: Performance | None
    metadata: ResponseMetadata

    @property
    def event_type(self) -> Literal["response"]:
        return "response"


Event: TypeAlias = QueryEvent | ResponseEvent
