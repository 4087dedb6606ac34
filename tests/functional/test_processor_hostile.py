"""Bodies an attacker or a broken client can send: each becomes a record or a quarantine, never a retry.

Every test sends the hostile message together with an innocent one of the same message group: a message
that raised would fail, and make Powertools fail the rest of its group with it.
"""

from __future__ import annotations

import json

import pytest

from contract.parsing import MAX_DEPTH
from contract.tables import COMPLETE
from processor.runtime import Runtime
from tests.support.processor import (
    SqsMessage,
    all_records,
    interim_statuses,
    quarantined,
    query,
    records_by_request,
    response,
    run,
    sweep,
)


def test_a_lone_surrogate_is_replaced_and_the_record_says_so(runtime: Runtime) -> None:
    body = query("lone").replace('"question lone"', '"hi \\ud800 there"')
    assert run(runtime, [SqsMessage(body, "A"), SqsMessage(query("innocent"), "A")]) == []
    answer = response("lone").replace('"reasoning":"ok"', '"reasoning":"ok \\udfff"')
    assert run(runtime, [SqsMessage(answer, "A")]) == []
    (record,) = records_by_request()["lone"]
    assert (record.correlation, record.truncated) == (COMPLETE, True)
    assert record.question == "hi \ufffd there"
    assert record.reasoning == "ok \ufffd"
    assert "innocent" in interim_statuses()


def test_a_paired_surrogate_is_kept_as_it_is(runtime: Runtime) -> None:
    body = query("pair").replace('"question pair"', '"hi \\ud83d\\ude00"')
    assert run(runtime, [SqsMessage(body), SqsMessage(response("pair"))]) == []
    (record,) = all_records()
    assert (record.question, record.truncated) == ("hi \U0001f600", False)


@pytest.mark.parametrize(
    ("field", "value", "path"),
    [
        ("matchQuality", "-1e400", "$.metadata.matchQuality"),
        ("matchQuality", "1e200", "$.metadata.matchQuality"),  # finite, beyond DynamoDB's 1e126
        ("matchQuality", "1e-200", "$.metadata.matchQuality"),  # below DynamoDB's 1e-130, not zero
        ("vectorMatches", "1" * 39, "$.vectorMatches"),  # 39 digits: DynamoDB keeps 38
        ("vectorMatches", "9" * 5000, "$.vectorMatches"),  # beyond Python's int parsing limit
    ],
)
def test_a_number_dynamodb_cannot_store_is_quarantined_and_spares_its_group(
    runtime: Runtime, field: str, value: str, path: str
) -> None:
    added = f'"metadata":{{"{field}":{value}}}' if field == "matchQuality" else f'"{field}":{value}'
    hostile = response("n").replace('"reasoning":"ok"', f'"reasoning":"ok",{added}')
    innocent = SqsMessage(query("innocent"), "A")
    assert run(runtime, [SqsMessage(query("n"), "A"), SqsMessage(hostile, "A"), innocent]) == []
    (item,) = quarantined()
    assert item.path == path
    assert "DynamoDB" in item.reason
    assert "innocent" in interim_statuses()
    assert sweep(runtime)["failed"] == 0


def test_an_infinite_duration_alone_never_breaks_the_sweep(runtime: Runtime) -> None:
    hostile = response("alone", performance={"cacheHit": False})
    hostile = hostile.replace('"cacheHit":false', '"totalTime":1e400')
    assert run(runtime, [SqsMessage(hostile)]) == []
    (item,) = quarantined()
    assert item.path == "$.performance.totalTime"
    assert sweep(runtime)["failed"] == 0


def nested(depth: int, leaf: str) -> str:
    return '{"a":' * (depth - 1) + json.dumps(leaf) + "}" * (depth - 1)


@pytest.mark.parametrize(("depth", "leaf_size"), [(600, 120 * 1024), (MAX_DEPTH + 1, 10), (2000, 10)])
def test_metadata_nested_beyond_the_limit_is_quarantined_with_the_limit_named(
    runtime: Runtime, depth: int, leaf_size: int
) -> None:
    hostile = query("deep").replace('"query":', f'"extra":{nested(depth, "x" * leaf_size)},"query":')
    assert run(runtime, [SqsMessage(hostile, "A"), SqsMessage(query("innocent"), "A")]) == []
    (item,) = quarantined()
    assert f"deeper than {MAX_DEPTH}" in item.reason
    assert "innocent" in interim_statuses()


def test_metadata_nested_to_the_limit_with_a_large_string_is_recorded_cut(runtime: Runtime) -> None:
    # The event object is level 1 and `nested(n)` adds n - 1 levels: this is exactly MAX_DEPTH levels deep.
    hostile = query("deep").replace('"query":', f'"extra":{nested(MAX_DEPTH, "x" * (120 * 1024))},"query":')
    assert run(runtime, [SqsMessage(hostile), SqsMessage(response("deep"))]) == []
    (record,) = all_records()
    assert (record.correlation, record.truncated) == (COMPLETE, True)
    assert quarantined() == []


def test_a_request_id_too_long_for_a_dynamodb_key_is_quarantined(runtime: Runtime) -> None:
    hostile = query("\U0001f600" * 256)  # 256 characters, as the schema allows: 1,024 bytes in UTF-8
    assert run(runtime, [SqsMessage(hostile, "A"), SqsMessage(query("innocent"), "A")]) == []
    (item,) = quarantined()
    assert item.path == "$.requestId"
    assert "innocent" in interim_statuses()


def test_a_response_a_day_before_its_query_is_recorded_marked_without_latency(runtime: Runtime) -> None:
    day_before = 1764154800000 - 86_400_000
    answer = SqsMessage(response("early", timestamp=day_before))
    assert run(runtime, [SqsMessage(query("early")), answer]) == []
    (record,) = all_records()
    assert (record.correlation, record.response_before_query) == (COMPLETE, True)
    assert "latency_ms" not in record.attribute_values
    assert record.response_time == day_before
