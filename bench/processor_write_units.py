"""DynamoDB write request units per complete request: what on-demand DynamoDB bills the processor for.

The same deliveries as `processor_requests` (halves in two batches, both in one batch, a realistic stream
with retries, orphans and the sweep), plus the two-batch case with a real browser's user agent in every
query, through the real handler against DynamoDB in moto. moto reports no usable consumed capacity, so the
units are computed from the items before and after every write, with the rules the twin's request meter
uses (`cv_analytics.local.dynamodb_capacity`: a unit per started KB of the larger item, twice in a
transaction, and the pending index's own writes). Prints units per complete request, table and index apart.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from moto import mock_aws
from tests.support.sample_traffic import Outgoing, sample_messages

from bench.processor_common import quiet_processor
from bench.processor_requests import (
    answered,
    fresh_runtime,
    in_two_batches,
    play,
    realistic,
    same_batch,
    separate_batches,
)
from contract.dynamodb import client_of
from contract.tables import InterimRequest, QuarantinedEvent, RequestGuard, RequestRecord
from cv_analytics.local.request_meter import Tables, billed, units_after, writes_before
from cv_analytics.local.traffic import USER_AGENTS

REGION = "eu-west-2"


def count_write_units() -> Counter[str]:
    """Write units of every DynamoDB call the processor's models make, from botocore's call hooks."""
    units: Counter[str] = Counter()
    tables = Tables(REGION)

    def before(model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["cost_writes"] = writes_before(tables, model.name, json.loads(params.get("body") or b"{}"))

    def after(http_response: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        writes, old = context.pop("cost_writes", ([], []))
        if not writes or not billed(http_response.status_code, parsed.get("Error", {}).get("Code", "")):
            return
        table_units, index_units, _ = units_after(tables, writes, old)
        units["table"] += table_units
        units["index"] += index_units

    for model in (InterimRequest, RequestRecord, RequestGuard, QuarantinedEvent):
        events = client_of(model).meta.events
        events.register("before-call.dynamodb", before)
        events.register("after-call.dynamodb", after)
    return units


def with_browser_agent(messages: list[Outgoing]) -> list[Outgoing]:
    """The queries as a real browser's request sends them (a full user agent string)."""
    changed = []
    for index, message in enumerate(messages):
        event = json.loads(message.body)
        if event["eventType"] == "query":
            event.setdefault("metadata", {})["userAgent"] = USER_AGENTS[index % len(USER_AGENTS)]
        changed.append(replace(message, body=json.dumps(event, separators=(",", ":"))))
    return changed


def separate_batches_browser() -> tuple[list[list[Outgoing]], int, bool]:
    requests = answered()
    return in_two_batches(with_browser_agent(sample_messages(requests))), len(requests), False


def scenario(name: str, build: Callable[[], tuple[list[list[Outgoing]], int, bool]]) -> float:
    with mock_aws():
        runtime = fresh_runtime()
        units = count_write_units()
        groups, complete, sweep = build()
        play(runtime, groups, sweep=sweep)
        total = units["table"] + units["index"]
        per_request = total / complete
        print(
            f"{name:<34} {per_request:5.2f} write units per complete request "
            f"(table {units['table'] / complete:.2f}, pending index {units['index'] / complete:.2f}; "
            f"{total} for {complete})"
        )
        return per_request


def main() -> None:
    quiet_processor()
    two = scenario("halves in two batches", separate_batches)
    browser = scenario("halves in two batches, browser agent", separate_batches_browser)
    one = scenario("halves in one batch", same_batch)
    scenario("realistic stream", realistic)
    print("realistic stream: units counted over complete requests; orphans and retries are extra work")
    print(f"two batches / one batch: {two / one:.1f}x; browser agent / short agent: {browser / two:.2f}x")


if __name__ == "__main__":
    main()
