"""What goes into Analytics, derived from the events alone: pure functions, no I/O, no clock.

A request's final record is built here whether both halves met (complete), only one arrived (an orphan), or
a late half healed an orphan; the repository only stores what these functions return. Keeping the derivation
pure is what lets the tests check every field without a table, and lets a retry rebuild exactly the same
record.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, overload

from contract.events import Event, QueryEvent, ResponseEvent
from contract.keys import day_partition, quarantine_sort_key, request_sort_key, shard_of, utc_day
from contract.lateness import is_late
from contract.parsing import ALTERED_KEY, event_from_document
from contract.storable import replace_lone_surrogates
from contract.tables import COMPLETE, LATE_BUCKET, QUERY_ONLY, RESPONSE_ONLY

# DynamoDB items are limited to 400 KB; a quarantined body is evidence for a human, 32 KB is plenty.
QUARANTINE_BODY_LIMIT = 32 * 1024

# The contract puts no length limit on the question, the reasoning, the metadata or unknown fields, and an SQS
# message may carry up to 1 MiB, yet every item must fit DynamoDB's 400 KB whatever a client sends (an item
# too large fails on every retry and would block its FIFO group). So what is stored is capped, in UTF-8 bytes
# cut on a character boundary, and a record says when something was cut (`truncated`):
TEXT_LIMIT = 16 * 1024  # the question and the reasoning, in a record's own columns
SHORT_TEXT_LIMIT = 1024  # user agent, referer, country, each source, and every other string of a cut half
SOURCES_LIMIT = 32  # sources kept
# One half's raw JSON, in an interim item (two halves) and in a record (two halves and the columns above):
# a half larger than this is stored with its strings cut as above and the key `TRIMMED_KEY` set, and when
# that is still too large, with only the contract's own fields.
HALF_JSON_LIMIT = 100 * 1024
TRIMMED_KEY = ALTERED_KEY
_CONTRACT_FIELDS = frozenset(
    {"eventType", "requestId", "timestamp", "sessionId", "schemaVersion", "status", "outcome", "model",
     "tokens", "query", "metadata", "matchType", "matchScore", "reasoning", "vectorMatches", "performance"}
)  # fmt: skip
_LONG_TEXT_FIELDS = frozenset({"query", "reasoning"})
# Both halves are timed by the Worker, but a caller may pass its own times, and a clock can step back (NTP).
# A response this much before its query is taken as answered at once (latency 0); earlier than that is
# impossible data: the record is kept, marked `response_before_query`, and has no latency.
CLOCK_SKEW_ALLOWANCE_MS = 1000


@dataclass(frozen=True, slots=True)
class FinalRecord:
    """The values of one `RequestRecord`, with the partition it belongs in.

    Field names are the model's attribute names, so the repository can pass them through unchanged.
    """

    partition: str
    request_id: str
    correlation: str
    day: str
    session_id: str | None
    query_time: int | None
    response_time: int | None
    latency_ms: int | None
    worker_total_ms: float | None
    llm_ms: float | None
    retrieval_ms: float | None
    question: str | None
    match_type: str | None
    match_score: float | None
    match_quality: float | None
    reasoning: str | None
    vector_matches: int | None
    cache_hit: bool | None
    sources: list[str] | None
    model: str | None
    input_tokens: int | None
    output_tokens: int | None
    status: int | None
    outcome: str | None
    country: str | None
    referer: str | None
    user_agent: str | None
    healed: bool
    truncated: bool
    response_before_query: bool
    recorded_at: int
    query_event: str | None
    response_event: str | None
    # Set on a late or a healed record (`contract.lateness`): its day's rollup must be built again.
    late_bucket: str | None = None
    # The orphan's partition when healing moved the request to another day partition.
    replaced_partition: str | None = None

    @property
    def sort_key(self) -> str:
        return request_sort_key(self.request_id)

    def attributes(self) -> dict[str, Any]:
        """The record's attributes, keyed by model attribute name (without the keys)."""
        return _values(self, exclude={"partition"})


@dataclass(frozen=True, slots=True)
class Quarantine:
    """The values of one `QuarantinedEvent`: a message that can never be processed, kept as evidence."""

    partition: str
    sort_key: str
    message_id: str
    reason: str
    path: str
    raw_body: str
    body_truncated: bool
    received_at: int
    message_group_id: str | None
    day: str

    def attributes(self) -> dict[str, Any]:
        """The item's attributes, keyed by model attribute name (without the keys)."""
        return _values(self, exclude={"partition", "sort_key"})


def _values(instance: Any, *, exclude: set[str]) -> dict[str, Any]:
    return {name: getattr(instance, name) for name in instance.__slots__ if name not in exclude}


def _compact(document: Any) -> str:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def cut(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-8 bytes, on a character boundary."""
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    return encoded[:limit].decode("utf-8", errors="ignore")


def _cut_strings(value: Any, limit: int) -> Any:
    if isinstance(value, str):
        return cut(value, limit)
    if isinstance(value, list):
        return [_cut_strings(item, limit) for item in value[:SOURCES_LIMIT]]
    if isinstance(value, dict):
        return {key: _cut_strings(item, limit) for key, item in value.items()}
    return value


def _fits(text: str) -> bool:
    return len(text.encode("utf-8")) <= HALF_JSON_LIMIT


def serialize(event: Event) -> str:
    """The event as compact JSON, unknown fields included, cut to `HALF_JSON_LIMIT`: what items keep.

    A cut half still parses into the same kind of event (the contract's required fields are short and kept),
    and carries `TRIMMED_KEY` so a record built from it later says it was truncated.
    """
    return _stored(event)[0]


def _stored(event: Event) -> tuple[str, bool]:
    """`serialize`'s text, and whether the half is cut (now, or before it was stored)."""
    text = _compact(event.raw)
    if _fits(text):
        return text, event.raw.get(TRIMMED_KEY) is True
    trimmed = {
        key: cut(value, TEXT_LIMIT) if key in _LONG_TEXT_FIELDS else _cut_strings(value, SHORT_TEXT_LIMIT)
        for key, value in event.raw.items()
        if key != TRIMMED_KEY
    } | {TRIMMED_KEY: True}
    text = _compact(trimmed)
    if _fits(text):
        return text, True
    return _compact(
        {key: value for key, value in trimmed.items() if key in _CONTRACT_FIELDS | {TRIMMED_KEY}}
    ), True


def deserialize(text: str) -> Event:
    """An event stored by `serialize`; it passed validation before it was stored, so it is not re-checked."""
    return event_from_document(json.loads(text))


def correlation_of(query: QueryEvent | None, response: ResponseEvent | None) -> str:
    if query is not None and response is not None:
        return COMPLETE
    if query is not None:
        return QUERY_ONLY
    if response is not None:
        return RESPONSE_ONLY
    raise ValueError("a record needs at least one half of its request")


def _first(*values: Any) -> Any:
    return next((value for value in values if value is not None), None)


def latency_of(query: QueryEvent | None, response: ResponseEvent | None) -> tuple[int | None, bool]:
    """End-to-end latency in ms, and whether the response is timed before its query beyond the allowance."""
    if query is None or response is None:
        return None, False
    latency = response.timestamp - query.timestamp
    if latency < -CLOCK_SKEW_ALLOWANCE_MS:
        return None, True
    return max(latency, 0), False


def build_record(
    query: QueryEvent | None,
    response: ResponseEvent | None,
    *,
    shards: int,
    recorded_at: int,
    healed: bool = False,
) -> FinalRecord:
    """The final record of a request from whichever halves arrived.

    A complete record lives on the UTC day of its query (when the recruiter asked); an orphan on the day of
    the half it has. The response's own values win over the query's for the optional fields both may carry
    (model, tokens, status, outcome), because the response is written after the answer is known.
    """
    correlation = correlation_of(query, response)
    anchor: Event = query if query is not None else response  # type: ignore[assignment]
    request_id = anchor.request_id
    day = utc_day(anchor.timestamp)
    performance = response.performance if response is not None else None
    tokens = _first(response.tokens if response else None, query.tokens if query else None)
    texts = _Texts()
    query_json, query_cut = _stored(query) if query else (None, False)
    response_json, response_cut = _stored(response) if response else (None, False)
    sources = response.metadata.sources_used if response else ()
    latency, response_before_query = latency_of(query, response)
    return FinalRecord(
        partition=day_partition(day, shard_of(request_id, shards)),
        request_id=request_id,
        correlation=correlation,
        day=day.isoformat(),
        session_id=_first(query.session_id if query else None, response.session_id if response else None),
        query_time=query.timestamp if query else None,
        response_time=response.timestamp if response else None,
        latency_ms=latency,
        worker_total_ms=performance.total_time if performance else None,
        llm_ms=performance.llm_time if performance else None,
        retrieval_ms=performance.retrieval_time if performance else None,
        question=texts.cut(query.query, TEXT_LIMIT) if query else None,
        match_type=response.match_type if response else None,
        match_score=response.match_score if response else None,
        match_quality=response.metadata.match_quality if response else None,
        reasoning=texts.cut(response.reasoning, TEXT_LIMIT) if response else None,
        vector_matches=response.vector_matches if response else None,
        cache_hit=performance.cache_hit if performance else None,
        sources=[texts.cut(source, SHORT_TEXT_LIMIT) for source in texts.first(sources)] or None,
        model=_first(response.model if response else None, query.model if query else None),
        input_tokens=tokens.input if tokens else None,
        output_tokens=tokens.output if tokens else None,
        status=_first(response.status if response else None, query.status if query else None),
        outcome=_first(response.outcome if response else None, query.outcome if query else None),
        country=texts.cut(query.metadata.country, SHORT_TEXT_LIMIT) if query else None,
        referer=texts.cut(query.metadata.referer, SHORT_TEXT_LIMIT) if query else None,
        user_agent=texts.cut(query.metadata.user_agent, SHORT_TEXT_LIMIT) if query else None,
        healed=healed,
        late_bucket=LATE_BUCKET if healed or is_late(anchor.timestamp, recorded_at) else None,
        truncated=texts.truncated or query_cut or response_cut,
        response_before_query=response_before_query,
        recorded_at=recorded_at,
        query_event=query_json,
        response_event=response_json,
    )


class _Texts:
    """Cuts a record's texts to their limits and remembers whether any was cut."""

    def __init__(self) -> None:
        self.truncated = False

    @overload
    def cut(self, text: str, limit: int) -> str: ...
    @overload
    def cut(self, text: None, limit: int) -> None: ...
    def cut(self, text: str | None, limit: int) -> str | None:
        if text is None:
            return None
        kept = cut(text, limit)
        self.truncated |= kept != text
        return kept

    def first(self, items: tuple[str, ...]) -> tuple[str, ...]:
        self.truncated |= len(items) > SOURCES_LIMIT
        return items[:SOURCES_LIMIT]


def build_record_from_json(
    query_json: str | None,
    response_json: str | None,
    *,
    shards: int,
    recorded_at: int,
    healed: bool = False,
) -> FinalRecord:
    """`build_record` from the stored JSON of each half (interim items and orphan records keep JSON)."""
    query = deserialize(query_json) if query_json else None
    response = deserialize(response_json) if response_json else None
    if query is not None and not isinstance(query, QueryEvent):
        raise ValueError(f"stored query half of {query.request_id} is a {query.event_type}")
    if response is not None and not isinstance(response, ResponseEvent):
        raise ValueError(f"stored response half of {response.request_id} is a {response.event_type}")
    return build_record(query, response, shards=shards, recorded_at=recorded_at, healed=healed)


def build_quarantine(
    body: str,
    *,
    message_id: str,
    message_group_id: str | None,
    path: str,
    reason: str,
    received_at: int,
) -> Quarantine:
    """A quarantine item for a poison message, in the day partition of its receipt, keyed by message id.

    Keying by the SQS message id makes a redelivery of the same message overwrite nothing and count once.
    The body is cut at `QUARANTINE_BODY_LIMIT` bytes (on a character boundary) so any message fits an item.
    """
    storable = replace_lone_surrogates(body)  # SQS never delivers one, but a direct invocation can
    kept = cut(storable, QUARANTINE_BODY_LIMIT)
    truncated = kept != body
    day = utc_day(received_at)
    return Quarantine(
        partition=day_partition(day),
        sort_key=quarantine_sort_key(message_id),
        message_id=message_id,
        reason=reason,
        path=path,
        raw_body=kept,
        body_truncated=truncated,
        received_at=received_at,
        message_group_id=message_group_id,
        day=day.isoformat(),
    )
