"""Any body whatsoever becomes a record or a quarantine, and never holds up its FIFO group.

Bodies are built from the contract's own shapes with hostile values put anywhere: lone and paired
surrogates, NUL, numbers too large, too small or too long for DynamoDB, deep nesting, large strings,
duplicate keys, truncated or foreign JSON. Each one is sent to the real Lambda handler in one batch with an
innocent message of the same message group, against DynamoDB in moto, and the orphan sweep runs after it.

`CV_ANALYTICS_FUZZ_EXAMPLES` sets how many bodies are tried (a modest number by default, so `./taskw test`
stays quick); `./taskw fuzz-processor` runs a long campaign (`tests/fuzz_campaign.py`) and prints how many it
tried. With `CV_ANALYTICS_FUZZ_PROGRESS` set to a file, the count so far (plus `CV_ANALYTICS_FUZZ_BASE`, what
earlier runs of a campaign tried) and the process's memory are written there every 100 bodies, so an
interrupted run still says how far it got.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from contract.tables import COMPLETE, QUERY_ONLY, RESPONSE_ONLY
from processor.runtime import Runtime
from tests.support.processor import (
    SqsMessage,
    empty_tables,
    interim_statuses,
    quarantined,
    query,
    records_by_request,
    run,
    sweep,
)

EXAMPLES = int(os.environ.get("CV_ANALYTICS_FUZZ_EXAMPLES", "40"))
PROGRESS = os.environ.get("CV_ANALYTICS_FUZZ_PROGRESS")
BASE = int(os.environ.get("CV_ANALYTICS_FUZZ_BASE", "0"))


class Progress:
    """How many bodies this run has tried, written to `PROGRESS` (when set) every 100 of them."""

    def __init__(self, path: str | None, base: int) -> None:
        self.path = Path(path) if path else None
        self.tried = base
        self.started = time.monotonic()

    def count(self) -> None:
        self.tried += 1
        if self.path is not None and self.tried % 100 == 0:  # overwritten: always one line, the latest
            self.path.write_text(self.line() + "\n", encoding="utf-8")

    def line(self) -> str:
        resident_pages = int(Path("/proc/self/statm").read_text().split()[1])
        return (
            f"bodies tried: {self.tried} in {time.monotonic() - self.started:.0f} s, "
            f"resident memory {resident_pages * os.sysconf('SC_PAGE_SIZE') // 2**20} MB"
        )


progress = Progress(PROGRESS, BASE)


@dataclass(frozen=True)
class Raw:
    """JSON text written as it is: what `json.dumps` cannot produce (1e400, 39 digits, deep nesting)."""

    text: str


@dataclass(frozen=True)
class Pairs:
    """A JSON object written from its pairs, so a key may appear twice."""

    items: tuple[tuple[str, Any], ...]


def to_json(value: Any) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, Pairs):
        return "{" + ",".join(f"{json.dumps(key)}:{to_json(item)}" for key, item in value.items) + "}"
    if isinstance(value, dict):
        return to_json(Pairs(tuple(value.items())))
    if isinstance(value, list):
        return "[" + ",".join(to_json(item) for item in value) + "]"
    return json.dumps(value)  # strings are written with \\u escapes, lone surrogates included


hostile_text = st.sampled_from(
    ["\ud800", "\udfff", "a\ud83d", "\ude00b", "\ud83d\ude00", "\x00", "nul\x00inside", "\u2028", "",
     "\ufffd"]
)  # fmt: skip
texts = st.lists(st.one_of(st.text(max_size=20), hostile_text), max_size=4).map("".join)
large_texts = st.integers(min_value=1, max_value=300 * 1024).map(lambda size: "é" * (size // 2))
hostile_numbers = st.sampled_from(
    ["1e400", "-1e400", "1e-400", "1e200", "-1e-200", "1e125", "9.99e125", "1e126", "1e-130", "-0", "0.0",
     "1" * 38, "-" + "9" * 38, "1" * 39, "9" * 5000, "12345678901234567890.5", "1E+2", "-1.5e-7"]
).map(Raw)  # fmt: skip
deep = st.integers(min_value=2, max_value=1500).flatmap(
    lambda depth: st.sampled_from(["[", '{"a":']).map(
        lambda opener: Raw(opener * depth + '"x"' + ("]" if opener == "[" else "}") * depth)
    )
)
leaves = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), texts,
    hostile_numbers,
)  # fmt: skip
values = st.recursive(
    leaves,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(texts, children, max_size=4)),
    max_leaves=12,
)
hostile = st.one_of(values, hostile_text, hostile_numbers, deep, large_texts)


def query_document(request_id: str) -> dict[str, Any]:
    return {"eventType": "query", "requestId": request_id, "timestamp": 1764154800000, "sessionId": "s",
            "query": "Has she led a team?", "metadata": {"userAgent": "Mozilla/5.0", "referer": "https://x.dev/",
                                                         "country": "GB"}}  # fmt: skip


def response_document(request_id: str) -> dict[str, Any]:
    return {"eventType": "response", "requestId": request_id, "timestamp": 1764154802000, "sessionId": "s",
            "matchType": "partial", "matchScore": 64, "reasoning": "ok", "vectorMatches": 5, "model": "llama",
            "tokens": {"input": 10, "output": 20}, "status": 200, "outcome": "answered",
            "performance": {"totalTime": 1200.5, "llmTime": 900, "retrievalTime": 80, "cacheHit": False},
            "metadata": {"matchQuality": 0.64, "sourcesUsed": ["Kubernetes", "Go"]}}  # fmt: skip


STRING_FIELDS = [("query",), ("reasoning",), ("sessionId",), ("model",), ("metadata", "userAgent"),
                 ("metadata", "referer"), ("metadata", "country")]  # fmt: skip
NUMBER_FIELDS = [("matchScore",), ("vectorMatches",), ("tokens", "input"), ("metadata", "matchQuality"),
                 ("performance", "totalTime"), ("performance", "llmTime")]  # fmt: skip


def present(document: dict[str, Any], fields: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    def has(path: tuple[str, ...]) -> bool:
        target: Any = document
        for key in path:
            if not isinstance(target, dict) or key not in target:
                return False
            target = target[key]
        return True

    return [path for path in fields if has(path)]


def paths_of(document: dict[str, Any]) -> list[tuple[str, ...]]:
    """Every place a value may be put: each field, each nested field, and a new unknown field."""
    found: list[tuple[str, ...]] = [("unknownField",), ("metadata", "extra")]
    for key, value in document.items():
        if key != "requestId":  # the test must know which request a body belongs to
            found.append((key,))
        if isinstance(value, dict):
            found += [(key, inner) for inner in value]
    return found


def put(document: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    target = document
    for key in path[:-1]:
        if not isinstance(target.get(key), dict):
            target[key] = {}
        target = target[key]
    target[path[-1]] = value


@st.composite
def bodies(draw: st.DrawFn, request_id: str) -> str:
    """A message body: a contract event with hostile values, then perhaps broken as text."""
    document = draw(st.sampled_from([query_document, response_document]))(request_id)
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        # A value of the field's own kind keeps the event within the contract (a record), any value anywhere
        # mostly breaks it (a quarantine): both must hold up nothing.
        kind = draw(st.sampled_from(["text", "number", "anywhere"]))
        if kind == "text":
            put(document, draw(st.sampled_from(present(document, STRING_FIELDS))), draw(texts | large_texts))
        elif kind == "number" and present(document, NUMBER_FIELDS):
            put(document, draw(st.sampled_from(present(document, NUMBER_FIELDS))), draw(hostile_numbers))
        else:
            put(document, draw(st.sampled_from(paths_of(document))), draw(hostile))
    shape = draw(st.sampled_from(["event", "event", "event", "duplicate key", "cut", "foreign"]))
    event(f"shape: {shape}")
    if shape == "duplicate key":
        key = draw(st.sampled_from([key for key in document if key != "requestId"]))
        return to_json(Pairs((*document.items(), (key, draw(hostile)))))
    text = to_json(document)
    if shape == "cut":
        return text[: draw(st.integers(min_value=0, max_value=len(text)))]
    if shape == "foreign":
        return to_json(draw(hostile))
    return text


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_every_body_becomes_a_record_or_a_quarantine_and_its_group_goes_on(
    runtime: Runtime, data: st.DataObject
) -> None:
    empty_tables()
    request_id, innocent_id = f"fuzz-{uuid.uuid4()}", f"innocent-{uuid.uuid4()}"
    body = data.draw(bodies(request_id), label="body")
    progress.count()
    hostile, innocent = SqsMessage(body, "G"), SqsMessage(query(innocent_id), "G")

    assert run(runtime, [hostile, innocent]) == []
    assert sweep(runtime)["failed"] == 0

    quarantines = [item for item in quarantined() if item.message_id == hostile.message_id]
    records = records_by_request()
    assert len(quarantines) + len(records.get(request_id, [])) == 1
    if records.get(request_id):
        (record,) = records[request_id]
        assert record.correlation in {QUERY_ONLY, RESPONSE_ONLY, COMPLETE}
        event(f"recorded (truncated: {record.truncated})")
    else:
        event(f"quarantined at {quarantines[0].path}")
    assert [record.correlation for record in records[innocent_id]] == [QUERY_ONLY]
    assert innocent_id in interim_statuses()
