"""Records derived from events: every field a report reads comes from the right half, in the right day."""

from __future__ import annotations

import json
from typing import Any

import pytest

from contract.events import QueryEvent, ResponseEvent
from contract.parsing import parse_event
from contract.tables import COMPLETE, QUERY_ONLY, RESPONSE_ONLY
from processor.records import (
    CLOCK_SKEW_ALLOWANCE_MS,
    HALF_JSON_LIMIT,
    QUARANTINE_BODY_LIMIT,
    SHORT_TEXT_LIMIT,
    SOURCES_LIMIT,
    TEXT_LIMIT,
    TRIMMED_KEY,
    build_quarantine,
    build_record,
    build_record_from_json,
    serialize,
)
from tests.support.events import worker_today_events

QUERY: dict[str, Any] = {
    "eventType": "query", "requestId": "req-1", "timestamp": 1764201599000, "sessionId": "s-1",
    "query": "Does she know Go?", "schemaVersion": 1, "newField": {"kept": True},
    "metadata": {"userAgent": "UA", "referer": "https://example.dev/cv", "country": "DE"},
}  # fmt: skip
RESPONSE: dict[str, Any] = {
    "eventType": "response", "requestId": "req-1", "timestamp": 1764201601500, "sessionId": "s-1",
    "matchType": "full", "matchScore": 88, "reasoning": "Strong match", "vectorMatches": 4,
    "status": 200, "outcome": "answered", "model": "llama", "tokens": {"input": 900, "output": 120},
    "performance": {"totalTime": 2300, "llmTime": 1800, "retrievalTime": 200, "cacheHit": True},
    "metadata": {"matchQuality": 0.88, "sourcesUsed": ["Go", "AWS"]},
}  # fmt: skip


def query(**changes: Any) -> QueryEvent:
    event = parse_event(json.dumps(QUERY | changes))
    assert isinstance(event, QueryEvent)
    return event


def response(**changes: Any) -> ResponseEvent:
    event = parse_event(json.dumps(RESPONSE | changes))
    assert isinstance(event, ResponseEvent)
    return event


def test_a_complete_record_carries_every_derived_field() -> None:
    record = build_record(query(), response(), shards=1, recorded_at=42)
    assert record.correlation == COMPLETE
    assert record.partition == "DAY#2025-11-26"
    assert record.sort_key == "REQUEST#req-1"
    assert record.day == "2025-11-26"
    assert record.latency_ms == 2500
    assert (record.worker_total_ms, record.llm_ms, record.retrieval_ms) == (2300, 1800, 200)
    assert record.cache_hit is True
    assert (record.match_type, record.match_score, record.match_quality) == ("full", 88, 0.88)
    assert record.sources == ["Go", "AWS"]
    assert (record.model, record.input_tokens, record.output_tokens) == ("llama", 900, 120)
    assert (record.status, record.outcome) == (200, "answered")
    assert (record.session_id, record.question) == ("s-1", "Does she know Go?")
    assert (record.country, record.referer, record.user_agent) == ("DE", "https://example.dev/cv", "UA")
    assert record.healed is False
    assert record.recorded_at == 42


def test_a_complete_record_lives_on_the_day_of_its_query_even_when_the_answer_comes_after_midnight() -> None:
    record = build_record(query(), response(timestamp=1764201601500), shards=1, recorded_at=0)
    assert record.day == "2025-11-26"
    orphan = build_record(None, response(), shards=1, recorded_at=0)
    assert orphan.correlation == RESPONSE_ONLY
    assert orphan.partition == "DAY#2025-11-27"


def test_a_query_without_response_is_a_query_only_orphan_without_answer_fields() -> None:
    record = build_record(query(), None, shards=1, recorded_at=0)
    assert record.correlation == QUERY_ONLY
    assert record.latency_ms is None
    assert record.match_type is None
    assert record.response_event is None
    assert record.question == "Does she know Go?"


def test_unknown_fields_are_kept_in_the_stored_halves() -> None:
    record = build_record(query(), response(), shards=1, recorded_at=0)
    assert record.query_event is not None
    assert json.loads(record.query_event)["newField"] == {"kept": True}


def test_a_record_rebuilt_from_stored_json_is_the_same_record() -> None:
    built = build_record(query(), response(), shards=4, recorded_at=7)
    rebuilt = build_record_from_json(serialize(query()), serialize(response()), shards=4, recorded_at=7)
    assert rebuilt == built


def test_halves_swapped_in_storage_are_refused() -> None:
    with pytest.raises(ValueError, match="is a response"):
        build_record_from_json(serialize(response()), None, shards=1, recorded_at=0)


def test_write_shards_split_a_day_by_request_id() -> None:
    partitions = {
        build_record(query(requestId=f"req-{n}"), None, shards=4, recorded_at=0).partition for n in range(40)
    }
    assert partitions == {"DAY#2025-11-26", "DAY#2025-11-26#1", "DAY#2025-11-26#2", "DAY#2025-11-26#3"}


def test_the_response_values_win_over_the_query_for_fields_both_may_carry() -> None:
    record = build_record(query(model="from-query", status=400), response(), shards=1, recorded_at=0)
    assert (record.model, record.status) == ("llama", 200)
    only_query = build_record(
        query(model="from-query", status=400, outcome="rejected"), None, shards=1, recorded_at=0
    )
    assert (only_query.model, only_query.status, only_query.outcome) == ("from-query", 400, "rejected")


def test_the_existing_workers_events_make_a_record_with_what_they_have() -> None:
    events = [parse_event(json.dumps(event)) for event in worker_today_events()]
    first_query = next(e for e in events if isinstance(e, QueryEvent))
    its_response = next(
        e for e in events if isinstance(e, ResponseEvent) and e.request_id == first_query.request_id
    )
    record = build_record(first_query, its_response, shards=1, recorded_at=0)
    assert record.correlation == COMPLETE
    assert record.latency_ms == its_response.timestamp - first_query.timestamp
    assert record.worker_total_ms is None
    assert record.cache_hit is None
    assert record.status is None
    assert record.sources


def test_a_quarantined_body_is_capped_at_32_kb_on_a_character_boundary() -> None:
    body = "é" * QUARANTINE_BODY_LIMIT
    item = build_quarantine(
        body, message_id="m-1", message_group_id="g", path="$", reason="bad", received_at=0
    )
    assert item.body_truncated is True
    assert len(item.raw_body.encode("utf-8")) <= QUARANTINE_BODY_LIMIT
    assert body.startswith(item.raw_body)
    small = build_quarantine(
        "{}", message_id="m-2", message_group_id=None, path="$", reason="bad", received_at=0
    )
    assert (small.raw_body, small.body_truncated) == ("{}", False)


def test_a_quarantined_message_is_keyed_by_its_message_id_in_the_day_it_was_received() -> None:
    item = build_quarantine(
        "x", message_id="m-9", message_group_id="g", path="$", reason="r", received_at=1764154800123
    )
    assert (item.partition, item.sort_key, item.day) == ("DAY#2025-11-26", "QUARANTINE#m-9", "2025-11-26")


def test_a_record_of_ordinary_events_is_not_truncated() -> None:
    record = build_record(query(), response(), shards=1, recorded_at=42)
    assert record.truncated is False
    assert record.query_event == serialize(query())
    assert TRIMMED_KEY not in record.query_event


@pytest.mark.parametrize(
    "changes",
    [
        {"query": "Q" * (210 * 1024)},  # the question alone is too large
        {"newField": ["x" * 4096] * 100},  # unknown fields are too large: their strings are cut
        {f"field{index}": "x" * 2048 for index in range(150)},  # still too large cut: contract fields only
    ],
)
def test_a_half_too_large_is_stored_cut_and_still_parses(changes: dict[str, Any]) -> None:
    event = query(**changes)
    text = serialize(event)
    assert len(text.encode()) <= HALF_JSON_LIMIT
    stored = parse_event(text)
    assert isinstance(stored, QueryEvent)
    assert (stored.request_id, stored.timestamp, stored.metadata) == (
        event.request_id,
        event.timestamp,
        event.metadata,
    )
    assert stored.raw[TRIMMED_KEY] is True
    assert len(stored.query.encode()) <= TEXT_LIMIT and event.query.startswith(stored.query)
    record = build_record_from_json(text, None, shards=1, recorded_at=1)
    assert record.truncated is True  # known from the stored half alone, as when healing an orphan


def test_a_record_caps_every_free_text_field() -> None:
    long = "ü" * TEXT_LIMIT
    record = build_record(
        query(query=long + "?", metadata={"userAgent": long, "referer": long, "country": long}),
        response(reasoning=long + "!", metadata={"sourcesUsed": [long] * (SOURCES_LIMIT + 5)}),
        shards=1,
        recorded_at=1,
    )
    assert record.truncated is True
    assert record.question is not None and len(record.question.encode()) <= TEXT_LIMIT
    assert record.reasoning is not None and len(record.reasoning.encode()) <= TEXT_LIMIT
    for short in (record.user_agent, record.referer, record.country, *(record.sources or [])):
        assert short is not None and len(short.encode()) <= SHORT_TEXT_LIMIT
    assert len(record.sources or []) == SOURCES_LIMIT


@pytest.mark.parametrize(
    ("response_at", "latency", "impossible"),
    [
        (QUERY["timestamp"] + 2500, 2500, False),
        (QUERY["timestamp"] - CLOCK_SKEW_ALLOWANCE_MS, 0, False),  # within the allowance: answered at once
        (QUERY["timestamp"] - CLOCK_SKEW_ALLOWANCE_MS - 1, None, True),
        (QUERY["timestamp"] - 86_400_000, None, True),  # a day before its question
    ],
)
def test_a_response_timed_before_its_query_is_kept_marked_and_without_latency(
    response_at: int, latency: int | None, impossible: bool
) -> None:
    record = build_record(query(), response(timestamp=response_at), shards=1, recorded_at=42)
    assert record.correlation == COMPLETE
    assert (record.latency_ms, record.response_before_query) == (latency, impossible)
    assert (record.query_time, record.response_time) == (QUERY["timestamp"], response_at)
    assert record.match_score == 88  # everything else is recorded as usual
