"""The event contract: what the Worker sends today is accepted unchanged, and every violation is named."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from contract.errors import ContractError
from contract.events import QueryEvent, ResponseEvent
from contract.parsing import event_schema, parse_event, validate_event
from tests.support.events import worker_today_events, worker_today_sqs_event

QUERY: dict[str, Any] = {
    "eventType": "query",
    "requestId": "r-1",
    "timestamp": 1764154800123,
    "query": "Has she led a team?",
}
RESPONSE: dict[str, Any] = {
    "eventType": "response",
    "requestId": "r-1",
    "timestamp": 1764154802456,
    "matchType": "partial",
    "matchScore": 64,
    "reasoning": "Moderate match",
}


def body(document: Any) -> str:
    return json.dumps(document)


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(event_schema())
    assert event_schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_every_event_the_worker_sends_today_parses_unchanged() -> None:
    for record in worker_today_sqs_event()["Records"]:
        event = parse_event(record["body"])
        assert event.raw == json.loads(record["body"])


def test_a_query_from_the_worker_becomes_a_typed_query_event() -> None:
    event = parse_event(body(worker_today_events()[0]))
    assert isinstance(event, QueryEvent)
    assert event.event_type == "query"
    assert event.request_id == "6f1c2a9e-5d1b-4c2e-9a51-0b7e3f6d2c11"
    assert event.timestamp == 1764154800123
    assert event.session_id == "anonymous"
    assert event.query == "Has she led a team using Kubernetes?"
    assert event.metadata.referer == "https://example.dev/cv"
    assert event.metadata.user_agent is not None
    assert event.metadata.country is None
    assert (event.status, event.outcome, event.model, event.tokens, event.schema_version) == (
        None,
        None,
        None,
        None,
        None,
    )


def test_a_response_from_the_worker_becomes_a_typed_response_event() -> None:
    event = parse_event(body(worker_today_events()[1]))
    assert isinstance(event, ResponseEvent)
    assert event.match_type == "partial"
    assert event.match_score == 64
    assert event.vector_matches == 5
    assert event.metadata.match_quality == 0.6412
    assert event.metadata.sources_used == ("Kubernetes", "Docker", "Terraform", "AWS", "Go")
    assert event.performance is None
    assert event.status is None


def test_the_optional_additions_are_typed() -> None:
    document = {
        **RESPONSE,
        "schemaVersion": 1,
        "status": 200,
        "outcome": "answered",
        "model": "@cf/meta/llama-3.1-8b-instruct",
        "tokens": {"input": 812, "output": 120},
        "performance": {"totalTime": 812.5, "llmTime": 640, "retrievalTime": 95, "cacheHit": False},
    }
    event = parse_event(body(document))
    assert isinstance(event, ResponseEvent)
    assert event.schema_version == 1
    assert event.status == 200
    assert event.outcome == "answered"
    assert event.model == "@cf/meta/llama-3.1-8b-instruct"
    assert event.tokens is not None
    assert (event.tokens.input, event.tokens.output) == (812, 120)
    assert event.performance is not None
    assert event.performance.total_time == 812.5
    assert event.performance.cache_hit is False


# A Worker that passes `request.headers.get("Referer")` and the like sends null for what it does not know.
NULL_OPTIONALS: dict[str, Any] = {
    "sessionId": None, "schemaVersion": None, "status": None, "outcome": None, "model": None, "tokens": None,
}  # fmt: skip
QUERY_WITH_NULLS: dict[str, Any] = {
    **QUERY, **NULL_OPTIONALS, "metadata": {"userAgent": None, "referer": None, "country": None},
}  # fmt: skip
RESPONSE_WITH_NULLS: dict[str, Any] = {
    **RESPONSE, **NULL_OPTIONALS, "tokens": {"input": None, "output": None}, "vectorMatches": None,
    "performance": {"totalTime": None, "llmTime": None, "retrievalTime": None, "cacheHit": None},
    "metadata": {"matchQuality": None, "sourcesUsed": None},
}  # fmt: skip


def test_null_in_an_optional_field_means_absent() -> None:
    query = parse_event(body(QUERY_WITH_NULLS))
    assert isinstance(query, QueryEvent)
    assert query == parse_event(body(QUERY))
    assert query.raw["metadata"]["referer"] is None  # kept as sent
    response = parse_event(body(RESPONSE_WITH_NULLS))
    assert isinstance(response, ResponseEvent)
    assert (response.session_id, response.vector_matches, response.metadata.sources_used) == (None, None, ())
    assert response.performance is not None and response.performance.total_time is None
    assert response.tokens is not None and response.tokens.input is None
    for nulled_object in ("performance", "metadata", "tokens"):
        assert parse_event(body({**RESPONSE, nulled_object: None})).request_id == "r-1"
    assert parse_event(body({**QUERY, "metadata": None})).request_id == "r-1"


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ({**QUERY, "requestId": None}, "$.requestId"),
        ({**QUERY, "timestamp": None}, "$.timestamp"),
        ({**QUERY, "eventType": None}, "$.eventType"),
        ({**QUERY, "query": None}, "$.query"),
        ({**RESPONSE, "matchType": None}, "$.matchType"),
        ({**RESPONSE, "matchScore": None}, "$.matchScore"),
        ({**RESPONSE, "reasoning": None}, "$.reasoning"),
        ({**RESPONSE, "metadata": {"sourcesUsed": [None]}}, "$.metadata.sourcesUsed[0]"),
    ],
)
def test_null_in_a_required_field_is_a_violation(document: dict[str, Any], path: str) -> None:
    with pytest.raises(ContractError) as raised:
        parse_event(body(document))
    assert raised.value.path == path
    assert not jsonschema.Draft202012Validator(event_schema()).is_valid(document)


def test_unknown_fields_are_kept() -> None:
    document = {**QUERY, "experiment": "b", "metadata": {"colo": "LHR", "referer": "x"}}
    event = parse_event(body(document))
    assert event.raw["experiment"] == "b"
    assert event.raw["metadata"]["colo"] == "LHR"


def test_bytes_are_accepted() -> None:
    assert parse_event(body(QUERY).encode()).request_id == "r-1"


@pytest.mark.parametrize(
    ("raw", "path", "reason"),
    [
        ("{not json", "$", "not valid JSON"),
        ('{"a": NaN}', "$", "NaN is not a number JSON allows"),
        (b"\xff\xfe", "$", "not valid JSON"),
        ("[1, 2]", "$", "must be object"),
        ('"query"', "$", "must be object"),
        ("[" * 100_000 + "]" * 100_000, "$", "nested deeper than 32 levels"),
    ],
)
def test_what_is_not_json_is_named(raw: str | bytes, path: str, reason: str) -> None:
    with pytest.raises(ContractError) as caught:
        parse_event(raw)
    assert caught.value.path == path
    assert reason in caught.value.reason


@pytest.mark.parametrize(
    ("document", "path", "reason"),
    [
        ({**QUERY, "eventType": "click"}, "$.eventType", "must be one of"),
        ({k: v for k, v in QUERY.items() if k != "requestId"}, "$.requestId", "is required"),
        ({k: v for k, v in QUERY.items() if k != "timestamp"}, "$.timestamp", "is required"),
        ({k: v for k, v in QUERY.items() if k != "query"}, "$.query", "is required"),
        ({k: v for k, v in RESPONSE.items() if k != "matchType"}, "$.matchType", "is required"),
        ({k: v for k, v in RESPONSE.items() if k != "matchScore"}, "$.matchScore", "is required"),
        ({k: v for k, v in RESPONSE.items() if k != "reasoning"}, "$.reasoning", "is required"),
        ({**QUERY, "requestId": ""}, "$.requestId", "must be longer than or equal to 1"),
        ({**QUERY, "requestId": 7}, "$.requestId", "must be string"),
        ({**QUERY, "timestamp": 1764154800}, "$.timestamp", "bigger than or equal to 1000000000000"),
        ({**QUERY, "timestamp": "1764154800123"}, "$.timestamp", "must be integer"),
        ({**QUERY, "timestamp": 1764154800123.5}, "$.timestamp", "must be integer"),
        ({**QUERY, "sessionId": 7}, "$.sessionId", "must be string or null"),
        ({**QUERY, "sessionId": ""}, "$.sessionId", "must be longer than or equal to 1"),
        ({**QUERY, "query": None}, "$.query", "must be string"),
        ({**QUERY, "metadata": []}, "$.metadata", "must be object"),
        ({**QUERY, "metadata": {"referer": 1}}, "$.metadata.referer", "must be string"),
        ({**QUERY, "status": True}, "$.status", "must be integer"),
        ({**QUERY, "status": 99}, "$.status", "bigger than or equal to 100"),
        ({**QUERY, "outcome": "Answered!"}, "$.outcome", "must match pattern"),
        ({**QUERY, "schemaVersion": 0}, "$.schemaVersion", "bigger than or equal to 1"),
        ({**QUERY, "tokens": {"input": -1}}, "$.tokens.input", "bigger than or equal to 0"),
        ({**RESPONSE, "matchType": "good"}, "$.matchType", "must be one of"),
        ({**RESPONSE, "matchScore": 100.5}, "$.matchScore", "smaller than or equal to 100"),
        ({**RESPONSE, "matchScore": -1}, "$.matchScore", "bigger than or equal to 0"),
        ({**RESPONSE, "vectorMatches": 1.5}, "$.vectorMatches", "must be integer"),
        ({**RESPONSE, "performance": {"totalTime": -3}}, "$.performance.totalTime", "bigger than"),
        ({**RESPONSE, "performance": {"cacheHit": "yes"}}, "$.performance.cacheHit", "must be boolean"),
        ({**RESPONSE, "metadata": {"sourcesUsed": "Go"}}, "$.metadata.sourcesUsed", "must be array"),
        ({**RESPONSE, "metadata": {"sourcesUsed": ["Go", 1]}}, "$.metadata.sourcesUsed[1]", "must be string"),
        ({**RESPONSE, "metadata": {"matchQuality": "high"}}, "$.metadata.matchQuality", "must be number"),
    ],
)
def test_every_contract_violation_names_the_field_and_the_reason(
    document: dict[str, Any], path: str, reason: str
) -> None:
    with pytest.raises(ContractError) as caught:
        parse_event(body(document))
    assert caught.value.path == path
    assert reason in caught.value.reason
    assert str(caught.value).startswith(path)


_json_leaf = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5)
)
_json = st.recursive(
    _json_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
_field_names = st.sampled_from(
    [
        "eventType",
        "requestId",
        "timestamp",
        "query",
        "sessionId",
        "matchType",
        "matchScore",
        "reasoning",
        "vectorMatches",
        "performance",
        "metadata",
        "status",
        "outcome",
        "tokens",
        "schemaVersion",
        "model",
    ]
)


@given(base=st.sampled_from([QUERY, RESPONSE]), name=_field_names, value=_json)
def test_the_fast_validator_agrees_with_the_reference_2020_12_validator(
    base: dict[str, Any], name: str, value: Any
) -> None:
    """fastjsonschema implements draft-07; the schema declares 2020-12. Both must read it the same way.

    (The schema alone: what DynamoDB cannot store is refused before it, by `contract.storable`.)
    """
    document = {**base, name: value}
    reference = jsonschema.Draft202012Validator(event_schema()).is_valid(document)
    try:
        validate_event(json.loads(body(document)))
        accepted = True
    except ContractError:
        accepted = False
    assert accepted == reference


@pytest.mark.parametrize(
    ("extra", "path"),
    [
        ('{"a b": [1, {"x": 1e400}]}', '$.extra["a b"][1].x'),
        ("-" + "9" * 39, "$.extra"),
        ("1e-131", "$.extra"),
        ("9.9e125", None),
        ("1e-130", None),
        ("-0.0", None),
        ("-" + "9" * 38, None),
    ],
)
def test_every_number_must_be_one_dynamodb_can_store(extra: str, path: str | None) -> None:
    raw = body(QUERY)[:-1] + f',"extra":{extra}}}'
    if path is None:
        assert parse_event(raw).raw["extra"] == json.loads(extra)
        return
    with pytest.raises(ContractError) as caught:
        parse_event(raw)
    assert caught.value.path == path
    assert "cannot be stored in DynamoDB" in caught.value.reason


def test_a_lone_surrogate_in_a_key_is_replaced_and_the_event_marked() -> None:
    event = parse_event(body(QUERY)[:-1] + ',"k\\udc00":"v"}')
    assert event.raw["k\ufffd"] == "v"
    assert event.raw["cvAnalyticsTrimmed"] is True
    assert "cvAnalyticsTrimmed" not in parse_event(body(QUERY)).raw
