"""What the rollups add to the write cost of a question: DynamoDB requests and write units, before and after.

Write units follow DynamoDB's rules: an item written costs its size in KB rounded up (the larger of its
size before and after an update), doubled inside a transaction. Sizes are computed from the items' wire
format with DynamoDB's sizing (attribute names and values in UTF-8 bytes, a number one byte per two
significant digits plus one), not measured by moto, which reports no consumed capacity for transactions.

Before: a complete request is one transaction (guard, record, interim item) when both halves arrive in one
batch, or two UpdateItems on the interim item and that transaction when they arrive apart. After: the same
requests; the transaction also updates the request's hour item and, with a question, its wording's day
item. The hour and wording items grow through the day, so their cost is simulated over a whole UTC day at
10,000, 100,000 and 1,000,000 questions a week, with realistic variety (most wordings distinct, one
session per four questions, 30 countries, 20 referrer hosts).
"""

from __future__ import annotations

import json
import math
import random
import sys
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from contract.facts import Request
from contract.parsing import parse_event
from contract.rollup import Delta, RollupItems, contributions, to_wire
from contract.tables import InterimRequest, RequestGuard, RequestRecord
from cv_analytics.local.sample_traffic import sample_requests
from processor.records import build_record

VOLUMES = (10_000, 100_000, 1_000_000)
SHARD_COUNTS = (1, 8)
TARGET_ADDED_UNITS = 2
COMMON = [
    "What is her notice period?", "Does she know Kubernetes?", "Is she open to relocation?",
    "What are her salary expectations?", "Has she led a team?", "Does she speak German?",
    "Can she work remotely?", "What is her Python experience?", "Does she have AWS certifications?",
    "Is she available for a contract role?",
]  # fmt: skip
COUNTRIES = [f"C{index:02d}" for index in range(30)]
HOSTS = [f"https://site{index}.example/cv?ref=x" for index in range(20)]
SOURCES = ["Kubernetes", "Docker", "Terraform", "AWS", "Go", "Python", "Leadership", "Education", "Projects"]


def value_size(value: Mapping[str, Any]) -> int:
    ((kind, content),) = value.items()
    if kind == "S":
        return len(str(content).encode("utf-8"))
    if kind == "N":
        digits = str(Decimal(str(content)).normalize()).lstrip("-").replace(".", "").lstrip("0") or "0"
        digits = digits.split("E")[0]
        return math.ceil(len(digits) / 2) + 1
    if kind == "SS":
        return sum(len(str(entry).encode("utf-8")) for entry in content)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(1 + value_size(entry) for entry in content)
    if kind == "M":
        return 3 + sum(len(name.encode("utf-8")) + 1 + value_size(entry) for name, entry in content.items())
    raise ValueError(f"no size for {kind}")


def item_size(item: Mapping[str, Mapping[str, Any]]) -> int:
    return sum(len(name.encode("utf-8")) + value_size(value) for name, value in item.items())


def units(size: int, *, transaction: bool) -> int:
    return math.ceil(max(size, 1) / 1024) * (2 if transaction else 1)


def before_costs(count: int = 300) -> dict[str, float]:
    """Write units of today's writes per complete request, from the sample traffic's real events."""
    paired, apart = [], []
    for sample in sample_requests(count):
        if sample.response is None:
            continue
        query, response = parse_event(json.dumps(sample.query)), parse_event(json.dumps(sample.response))
        record = build_record(query, response, shards=1, recorded_at=sample.query["timestamp"])  # type: ignore[arg-type]
        wire_record = RequestRecord(record.partition, record.sort_key, **record.attributes()).serialize()
        guard = RequestGuard(
            "REQUEST#" + record.request_id, "GUARD", request_id=record.request_id,
            correlation=record.correlation, record_partition=record.partition,
        ).serialize()  # fmt: skip
        interim = InterimRequest(record.request_id, query_event=record.query_event,
                                 response_event=record.response_event, status="correlated", first_seen=1,
                                 record_partition=record.partition, expires_at=None).serialize()  # fmt: skip
        half = InterimRequest(record.request_id, query_event=record.query_event, status="pending",
                              first_seen=1, pending_bucket="pending").serialize()  # fmt: skip
        transaction = sum(
            units(item_size(item) + 40, transaction=True) for item in (wire_record, guard, interim)
        )
        paired.append(transaction)
        apart.append(
            transaction
            + units(item_size(half), transaction=False)
            + units(item_size(interim), transaction=False)
        )
    return {"paired": sum(paired) / len(paired), "apart": sum(apart) / len(apart)}


def day_of_traffic(per_week: int, seed: int = 5) -> Iterator[Request]:
    """One UTC day at `per_week` questions a week, in time order."""
    rng = random.Random(seed)
    count = per_week // 7
    start = 1795392000000  # 23 November 2026, 00:00 UTC
    sessions = max(count // 4, 1)
    for index in range(count):
        common = rng.random() < 0.4
        question = rng.choice(COMMON) if common else f"{rng.choice(COMMON)} ({rng.getrandbits(40):x})"
        match = rng.choices(["full", "partial", "none"], [5, 3, 2])[0]
        yield Request(
            request_id=f"{rng.getrandbits(128):032x}",
            correlation="complete",
            timestamp=start + index * 86_400_000 // count,
            session_id=f"session-{rng.randrange(sessions)}",
            question=question,
            match_type=match,
            match_score=round(rng.uniform(0, 100), 1),
            latency_ms=rng.lognormvariate(7.3, 0.5),
            cache_hit=rng.random() < 0.25,
            sources=tuple(rng.sample(SOURCES, 3)),
            model=rng.choice(["@cf/meta/llama-3.1-8b-instruct", "@cf/meta/llama-3.3-70b-instruct-fp8-fast"]),
            input_tokens=rng.randrange(400, 1500),
            output_tokens=rng.randrange(50, 400),
            status=200,
            outcome="answered" if match != "none" else "no_results",
            country=rng.choice(COUNTRIES),
            referer=rng.choice(HOSTS),
        )


class SizedItems(RollupItems):
    """RollupItems that also keeps each item's DynamoDB size as it grows."""

    def __init__(self) -> None:
        super().__init__()
        self.sizes: dict[tuple[str, str], int] = {}

    def apply_sized(self, delta: Delta) -> int:
        """Apply one update; its write units in a transaction (the larger of the sizes before and after)."""
        before = self.sizes.get(delta.key, 0)
        item = self.items.get(delta.key, {})
        changed = {name: item.get(name) for name in [*delta.numbers, *delta.added]}
        self.apply(delta)
        item = self.items[delta.key]
        size = before or item_size(to_wire(delta.key, {}))
        for name, old in changed.items():
            new = item.get(name)
            old_size = 0 if old is None else len(name.encode()) + value_size(_wire(old))
            new_size = 0 if new is None else len(name.encode()) + value_size(_wire(new))
            size += new_size - old_size
        self.sizes[delta.key] = size
        return units(max(before, size), transaction=True)


def _wire(value: Decimal | set[str]) -> dict[str, Any]:
    return {"N": str(value)} if isinstance(value, Decimal) else {"SS": sorted(value)}


def rollup_costs(per_week: int, shards: int) -> dict[str, float]:
    items = SizedItems()
    total = hour_units = wording_units = count = 0
    for request in day_of_traffic(per_week):
        hour, *wording = contributions(request, shards=shards)
        hour_units += items.apply_sized(hour)
        for tally in wording:
            wording_units += items.apply_sized(tally)
        count += 1
    total = hour_units + wording_units
    largest_hour = max(size for key, size in items.sizes.items() if key[1].startswith("H#"))
    largest_wording = max(size for key, size in items.sizes.items() if key[1].startswith("W#"))
    return {
        "added": total / count,
        "hour": hour_units / count,
        "wording": wording_units / count,
        "largest_hour_kb": largest_hour / 1024,
        "largest_wording_kb": largest_wording / 1024,
        "updates_per_hour_item": count / 24 / shards,
    }


def main() -> None:
    before = before_costs()
    print("write cost per question, in DynamoDB write units (WCU); requests per question are unchanged")
    print(
        f"  before: {before['paired']:.2f} WCU when both halves share a batch (1 request: the transaction),"
    )
    print(
        f"          {before['apart']:.2f} WCU when they arrive apart "
        "(3 requests: 2 UpdateItems, the transaction)"
    )
    print("  after: the same requests; the transaction also updates the hour item and the wording's day item")
    volumes = [int(argument) for argument in sys.argv[1:]] or list(VOLUMES)
    for per_week in volumes:
        for shards in SHARD_COUNTS:
            costs = rollup_costs(per_week, shards)
            verdict = "met" if costs["added"] <= TARGET_ADDED_UNITS else "NOT met"
            print(
                f"  {per_week:>9,} a week, {shards} shard(s): +{costs['added']:.2f} WCU per question "
                f"(hour item {costs['hour']:.2f}, wording item {costs['wording']:.2f}); "
                f"largest hour item {costs['largest_hour_kb']:.1f} KB, largest wording item "
                f"{costs['largest_wording_kb']:.1f} KB; target <= {TARGET_ADDED_UNITS}: {verdict} "
                f"(ratio {costs['added'] / TARGET_ADDED_UNITS:.2f})"
            )


if __name__ == "__main__":
    main()
