"""The report's time and peak memory from day rollups at 10,000, 100,000 and 1,000,000 questions a week,
against the report from records, with the DynamoDB read path included.

For each volume a preparing child counts one synthetic week (every question a different wording, the
rollups' worst case) into its seven day rollups, the ones the roll-up would write, and stores them as the
DynamoDB Query responses that eight weeks of them make (1 MB pages, base64 bodies, as DynamoDB sends them).
A measuring child then runs `service.collect` (the reporter's own reading, decoding, merging and grouping,
the model loaded) with a botocore `before-send` hook answering each request from those responses, so
botocore's parser and PynamoDB's conversion run as in Lambda; only the network is absent. Its CPU time
over 0.29 (the vCPU share of a 512 MB Lambda) estimates the Lambda's time; its peak RSS is what Lambda's
memory limit counts. The same child then reads the records of eight weeks of 10,000 questions the same way:
the path the rollups replace.
"""

from __future__ import annotations

import base64
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

VOLUMES = (10_000, 100_000, 1_000_000)
RECORDS_VOLUME = 10_000
LAMBDA_VCPU = 0.29  # 512 MB: Lambda gives a full vCPU at 1,769 MB, in proportion below
PAGE_BYTES = 1_000_000
TARGET_SECONDS = 10
TARGET_MB = 256


def _week() -> Any:
    from zoneinfo import ZoneInfo

    from reporter.period import ReportWeek

    return ReportWeek.parse("2026-W47", ZoneInfo("Europe/London"))


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def prepare(volume: int, folder: Path) -> dict[str, float]:
    """Write the Query pages of eight weeks of day rollups of `volume` questions a week, and of records."""
    from dataclasses import replace

    from bench.reporter_data import synthetic_requests
    from bench.reporter_grouping import distinct_questions
    from contract.keys import rollup_partition, rollup_sort_key
    from reporter.aggregation import report_weeks
    from reporter.rollups import build, encode

    week = _week()
    questions = distinct_questions(volume)
    generated = (record for chunk in synthetic_requests(week, volume) for record in chunk)
    span = week.end_ms - week.start_ms
    records = [  # spread evenly over the week, so every day is as busy as the volume makes it
        replace(
            record,
            timestamp=week.start_ms + index * span // volume,
            question=questions[index] if record.question else None,
        )
        for index, record in enumerate(generated)
    ]
    started = time.process_time()
    days = [encode(build(records, day, week.zone)) for day in week.days]
    build_cpu = time.process_time() - started
    zone = "Europe/London"
    items: list[dict[str, Any]] = []
    for each in report_weeks(week):
        for offset, day in enumerate(each.days):
            parts = days[offset]
            items.extend(
                {
                    "pk": _s(rollup_partition(zone)),
                    "sk": _s(rollup_sort_key(day, 0, index)),
                    "kind": _s("rollup"),
                    "zone": _s(zone),
                    "day": _s(day.isoformat()),
                    "shard": _n(0),
                    "part": _n(index),
                    "parts": _n(len(parts)),
                    "generation": _n(1),
                    "requests": _n(volume // 7),
                    "body": {"B": base64.b64encode(part).decode("ascii")},
                }
                for index, part in enumerate(parts)
            )
    pages = _pages(items)
    (folder / f"rollups-{volume}.json").write_text(json.dumps(pages))
    stored = sum(len(part) for parts in days for part in parts)
    return {"build_cpu_s": build_cpu, "rollup_bytes_per_day": stored / 7, "pages": len(pages)}


def prepare_records(folder: Path) -> None:
    """The Query pages of each day partition of eight weeks of RECORDS_VOLUME records a week."""
    from bench.reporter_data import synthetic_requests
    from contract.keys import day_partition, utc_day
    from reporter.aggregation import report_weeks

    by_partition: dict[str, list[dict[str, Any]]] = {}
    for each in report_weeks(_week()):
        for chunk in synthetic_requests(each, RECORDS_VOLUME, seed=each.number):
            for record in chunk:
                partition = day_partition(utc_day(record.timestamp))
                item: dict[str, Any] = {
                    "pk": _s(partition),
                    "sk": _s(f"REQUEST#{each.number}-{record.request_id}"),
                    "kind": _s("request"),
                    "request_id": _s(record.request_id),
                    "correlation": _s(record.correlation),
                    "query_time": _n(record.timestamp),
                    "recorded_at": _n(record.timestamp),
                    "healed": {"BOOL": record.healed},
                    "response_before_query": {"BOOL": False},
                    "session_id": _s(record.session_id or "anonymous"),
                }
                if record.question:
                    item["question"] = _s(record.question)
                if record.match_type:
                    item["match_type"] = _s(record.match_type)
                    item["match_score"] = {"N": str(record.match_score)}
                    item["sources"] = {"L": [_s(source) for source in record.sources]}
                    item["model"] = _s(record.model or "")
                    item["input_tokens"] = _n(record.input_tokens or 0)
                    item["output_tokens"] = _n(record.output_tokens or 0)
                    item["outcome"] = _s(record.outcome or "answered")
                if record.latency_ms is not None:
                    item["latency_ms"] = {"N": f"{record.latency_ms:.3f}"}
                by_partition.setdefault(partition, []).append(item)
    pages = {partition: _pages(items) for partition, items in by_partition.items()}
    (folder / "records.json").write_text(json.dumps(pages))


def _pages(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Items in pages of at most PAGE_BYTES of JSON, each but the last with a LastEvaluatedKey."""
    pages: list[dict[str, Any]] = []
    page: list[dict[str, Any]] = []
    size = 0
    for item in items:
        length = len(json.dumps(item))
        if page and size + length > PAGE_BYTES:
            pages.append({"Items": page})
            page, size = [], 0
        page.append(item)
        size += length
    pages.append({"Items": page})
    for index, each in enumerate(pages):
        each["Count"] = each["ScannedCount"] = len(each["Items"])
        if index + 1 < len(pages):
            last = each["Items"][-1]
            each["LastEvaluatedKey"] = {"pk": last["pk"], "sk": last["sk"], "page": _n(index + 1)}
    return pages


_EMPTY_PAGE: dict[str, Any] = {"Items": [], "Count": 0, "ScannedCount": 0}


class Answers:
    """A botocore `before-send` hook that answers DynamoDB from prepared pages, counting what it served."""

    def __init__(self, rollups: list[dict[str, Any]], records: dict[str, list[dict[str, Any]]]) -> None:
        self.rollups = rollups
        self.records = records
        self.requests = 0
        self.bytes = 0

    def __call__(self, request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse, HTTPHeaders

        body = json.loads(request.body)
        target = request.headers["X-Amz-Target"]
        target = (target.decode() if isinstance(target, bytes) else target).split(".")[-1]
        page: dict[str, Any] = {"Items": [], "Count": 0, "ScannedCount": 0}
        if target == "Query":
            values = [value.get("S", "") for value in body.get("ExpressionAttributeValues", {}).values()]
            partition = next((value for value in values if value.startswith(("DAY#", "ROLLUP#"))), "")
            if any(value.startswith("QUARANTINE#") for value in values):
                partition = ""
            start = int(body.get("ExclusiveStartKey", {}).get("page", {"N": "0"})["N"])
            if partition.startswith("ROLLUP#") and "IndexName" not in body:
                page = self.rollups[start]
            elif partition in self.records:
                page = self.records[partition][start]
            if body.get("Select") == "COUNT":
                page = {"Count": 0, "ScannedCount": 0}  # the pending index: nothing pending
        raw = json.dumps(page).encode()
        self.requests += 1
        self.bytes += len(raw)
        headers = HTTPHeaders()
        headers["content-type"] = "application/x-amz-json-1.0"
        return AWSResponse(request.url, 200, headers, _Raw(raw))


class _Raw:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> Any:
        yield self.data


def measure(folder: Path, volume: int, grouped: bool) -> dict[str, float]:
    """One report of the week from rollups (volume > 0) or from records (volume == 0); without `grouped`,
    every wording is its own group, so the figure is the reading and merging alone."""
    # Requests are signed as in Lambda (its role's credentials); nothing leaves the process.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    import reporter.handler  # noqa: F401 - the Lambda's own imports count towards its memory
    from contract.dynamodb import client_of
    from contract.tables import AnalyticsItem, DayRollup, InterimRequest, QuarantinedEvent, RequestRecord
    from reporter import service
    from reporter.grouping import default_grouper
    from reporter.rollup_store import RollupStore
    from reporter.settings import ReporterSettings
    from reporter.store import AnalyticsReader

    settings = ReporterSettings()
    rollups = json.loads((folder / f"rollups-{volume}.json").read_text()) if volume else [_EMPTY_PAGE]
    records = json.loads((folder / "records.json").read_text()) if not volume else {}
    answers = Answers(rollups, records)
    reader = AnalyticsReader(settings)
    # Each model class has a connection of its own.
    for model in (AnalyticsItem, DayRollup, RequestRecord, QuarantinedEvent, InterimRequest):
        client_of(model).meta.events.register("before-send.dynamodb", answers)
    grouper = default_grouper() if grouped else None
    if grouper is not None:
        grouper.group(["warm up"])  # the model's load is its own benchmark (reporter_grouping)
    week = _week()
    started, started_cpu = time.perf_counter(), time.process_time()
    insights = service.collect(
        reader,
        week,
        settings,
        grouper,
        rollups=RollupStore("Europe/London"),
        now_ms=week.end_ms + 10**9,
        by_meaning=grouped,
    )
    return {
        "wall_s": time.perf_counter() - started,
        "cpu_s": time.process_time() - started_cpu,
        "requests": insights.totals.requests,
        "dynamodb_requests": answers.requests,
        "response_mb": answers.bytes / 1e6,
        "groups": insights.question_groups,
        "left_out": insights.left_out,
    }


def _child(*arguments: str) -> dict[str, float]:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.reporter_rollups", "--child", *arguments],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode:
        raise SystemExit(completed.stderr)
    result: dict[str, float] = json.loads(completed.stdout.splitlines()[-1])
    return result


def main() -> None:
    if "--child" in sys.argv:
        role, folder, size = sys.argv[-3:]
        grouped = role == "measure"
        if role == "prepare":
            figures = prepare(int(size), Path(folder))
        elif role == "records":
            prepare_records(Path(folder))
            figures = {}
        else:
            figures = measure(Path(folder), int(size), grouped)
        figures["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(figures))
        return
    with tempfile.TemporaryDirectory() as temporary:
        print("the weekly report from day rollups (worst case: every question a different wording)")
        print(f"  Lambda time estimated as CPU / {LAMBDA_VCPU} (512 MB); peak = the child's max RSS")
        reads: dict[int, dict[str, float]] = {}
        for volume in VOLUMES:
            built = _child("prepare", temporary, str(volume))
            read = reads[volume] = _child("read", temporary, str(volume))
            whole = _child("measure", temporary, str(volume))
            day_kb, day_cpu = built["rollup_bytes_per_day"] / 1024, built["build_cpu_s"] / 7
            print(
                f"  {volume:>9,} a week: reading and merging {read['cpu_s']:.2f} s CPU "
                f"(~{read['cpu_s'] / LAMBDA_VCPU:.1f} s), peak {read['peak_mb']:.0f} MB; the whole report "
                f"with the grouping {whole['cpu_s']:.2f} s CPU "
                f"(~{whole['cpu_s'] / LAMBDA_VCPU:.1f} s, target "
                f"{TARGET_SECONDS} s), peak {whole['peak_mb']:.0f} MB (target {TARGET_MB}); "
                f"{read['dynamodb_requests']:.0f} DynamoDB requests, {read['response_mb']:.1f} MB read"
            )
            # A rollup of one part is one PutItem: a unit per KB of the item (its body and about 200 bytes of
            # keys); more parts, or an older build's parts to delete, make it a transaction at twice that.
            units = math.ceil((built["rollup_bytes_per_day"] + 200) / 1024)
            print(
                f"  {'':>9}   rollups {day_kb:.0f} KB a day compressed, built in {day_cpu:.2f} s CPU a day, "
                f"written for {units} write units a day: {units / (volume / 7):.4f} a question; "
                f"{whole['left_out']:,.0f} questions in the long tail, {whole['groups']:,.0f} groups"
            )
        _child("records", temporary, "0")
        records = _child("read", temporary, "0")
        print(
            f"  from records instead, {RECORDS_VOLUME:,} a week: reading and merging "
            f"{records['cpu_s']:.2f} s CPU (~{records['cpu_s'] / LAMBDA_VCPU:.1f} s), "
            f"peak {records['peak_mb']:.0f} MB, "
            f"{records['dynamodb_requests']:.0f} DynamoDB requests, {records['response_mb']:.1f} MB read"
        )
        small, large = reads[VOLUMES[0]], reads[VOLUMES[-1]]
        print(
            f"  reading 1,000,000 a week against 10,000 from rollups: {large['cpu_s'] / small['cpu_s']:.2f}x "
            f"CPU; 10,000 a week from records against rollups: {records['cpu_s'] / small['cpu_s']:.1f}x"
        )


if __name__ == "__main__":
    main()
