"""Report time and peak memory from rollups at 10,000, 100,000 and 1,000,000 questions a week.

The whole read path runs as in the Lambda: `AnalyticsReader.rollups` with its parallel, paginated Queries
through a real botocore client, whose HTTP layer is replaced (a `before-send` hook) by a fake DynamoDB that
answers with DynamoDB-shaped JSON bytes: pages of at most 1 MB of stored items, the reader's filter on
busy days and its projection applied server-side as DynamoDB does. botocore parses every byte (the
response parser the records path spent 164 us per record in); then the rollups are decoded, routed to
the eight weeks, turned into insights and rendered with CSS inlining and the size fitting. Grouping by
meaning is left out: it embeds at most 500 wordings whatever the volume and has its own benchmark
(bench/reporter_grouping.py).

Every UTC day of the eight weeks gets the same synthetic day (bench/rollup_writes.day_of_traffic: 40 % of
questions from ten common wordings, the rest distinct). The day's rollup pages are built by a separate
process and saved to a file, so the measured child holds only those bytes (a few MB) besides the report.
Figures: the child's CPU time for the report (Lambda's 512 MB gives about 0.29 vCPU, so its wall time is
about CPU / 0.29), its peak RSS (ru_maxrss, interpreter and imports included), and the DynamoDB requests.
"""

from __future__ import annotations

import json
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

VOLUMES = (10_000, 100_000, 1_000_000)
TEMPLATE_DAY = "2026-11-23"
WEEK = "2026-W48"
PAGE_BYTES = 1024 * 1024  # DynamoDB's Query page: 1 MB of items read, before any filter
LAMBDA_VCPU = 0.29
TARGET_SECONDS = 10
TARGET_MB = 256


def build_pages(per_week: int, path: Path) -> None:
    """One UTC day's rollup items as Query pages (unfiltered and filtered to repeated wordings)."""
    from bench.rollup_writes import day_of_traffic
    from contract.rollup import WORDING_TOTAL, RollupItems, to_wire

    items = RollupItems().add_all(day_of_traffic(per_week), shards=1).items
    wires = [to_wire(key, item) for key, item in sorted(items.items(), key=lambda pair: pair[0][1].encode())]
    pages: dict[str, Any] = {}
    for prefix in ("H#", "W#"):
        chosen = [wire for wire in wires if str(wire["sk"]["S"]).startswith(prefix)]
        chunks: list[list[dict[str, Any]]] = [[]]
        size = 0
        for wire in chosen:
            encoded = len(json.dumps(wire))
            if size + encoded > PAGE_BYTES and chunks[-1]:
                chunks.append([])
                size = 0
            chunks[-1].append(wire)
            size += encoded
        for projected in (False, True):
            kind = prefix + ("counts" if projected else "")
            shown = [[_projected(wire) if projected else wire for wire in chunk] for chunk in chunks]
            pages[kind] = [json.dumps(chunk).encode() for chunk in shown]
            pages[kind + "repeated"] = [
                json.dumps([shown_wire for wire, shown_wire in zip(chunk, page, strict=True)
                            if int(str(wire[WORDING_TOTAL]["N"])) > 1]).encode()
                for chunk, page in zip(chunks, shown, strict=True)
            ]  # fmt: skip
    path.write_bytes(pickle.dumps(pages))


def _projected(wire: dict[str, Any]) -> dict[str, Any]:
    """What a ProjectionExpression of `reporter.store.COUNT_ATTRIBUTES` returns of an item."""
    from reporter.store import COUNT_ATTRIBUTES

    return {name: value for name, value in wire.items() if name in COUNT_ATTRIBUTES}


class FakeDynamoDB:
    """Answers the reporter's requests from the template pages, as DynamoDB would shape them."""

    def __init__(self, pages: dict[str, list[bytes]]) -> None:
        self.pages = pages
        self.requests: dict[str, int] = {}

    def __call__(self, request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        target = request.headers.get("X-Amz-Target", b"")
        operation = (target.decode() if isinstance(target, bytes) else target).rsplit(".", 1)[-1]
        self.requests[operation] = self.requests.get(operation, 0) + 1
        body = json.loads(request.body)
        values = body.get("ExpressionAttributeValues", {})
        pk = values.get(":pk", {}).get("S", "")
        prefix = values.get(":prefix", {}).get("S", "")
        if operation != "Query" or not pk.startswith("ROLLUP#") or prefix not in ("H#", "W#"):
            answer: dict[str, Any] = {"Items": [], "Count": 0, "ScannedCount": 0}
            raw = json.dumps(answer).encode()
        else:
            kind = prefix + ("counts" if "ProjectionExpression" in body else "")
            kind += "repeated" if "FilterExpression" in body else ""
            start = body.get("ExclusiveStartKey")
            index = int(start["sk"]["S"].rsplit("~", 1)[1]) if start else 0
            page = self.pages[kind][index].replace(f"ROLLUP#{TEMPLATE_DAY}".encode(), pk.encode())
            last = b""
            if index + 1 < len(self.pages[kind]):
                key = {"pk": {"S": pk}, "sk": {"S": f"{prefix}\uffff~{index + 1}"}}
                last = b',"LastEvaluatedKey":' + json.dumps(key).encode()
            raw = b'{"Items":' + page + last + b"}"
        return AWSResponse(request.url, 200, _headers(), _Raw(raw))


def _headers() -> Any:
    from botocore.awsrequest import HTTPHeaders

    headers = HTTPHeaders()
    headers["Content-Type"] = "application/x-amz-json-1.0"
    return headers


class _Raw:
    def __init__(self, content: bytes) -> None:
        self.content = content

    def stream(self, **_: Any) -> Any:
        yield self.content


def measure(path: Path) -> dict[str, Any]:
    import os

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    from zoneinfo import ZoneInfo

    from contract.config import load_settings
    from contract.tables import AnalyticsItem, QuarantinedEvent
    from reporter.fitting import fit
    from reporter.insights import build_insights, data_quality
    from reporter.mailer import build_message
    from reporter.period import ReportWeek
    from reporter.service import aggregate
    from reporter.settings import ReporterSettings
    from reporter.store import AnalyticsReader

    fake = FakeDynamoDB(pickle.loads(path.read_bytes()))
    settings = load_settings(ReporterSettings)
    reader = AnalyticsReader(settings)
    for model in (AnalyticsItem, QuarantinedEvent):  # PynamoDB keeps a client per model class
        model._get_connection().connection.client.meta.events.register("before-send.dynamodb", fake)
    week = ReportWeek.parse(WEEK, ZoneInfo("Europe/London"))
    started, started_cpu = time.perf_counter(), time.process_time()
    weeks = aggregate(reader, week)
    quality = data_quality(weeks[-1], reader.quarantined(week.utc_days()), reader.dlq_depth(), 0)
    insights = build_insights(weeks, quality, settings.model_prices(), settings.report_currency, None)
    _, message = fit(insights, lambda rendered: build_message(rendered, "r@example.dev", ("o@example.dev",)))
    wall, cpu = time.perf_counter() - started, time.process_time() - started_cpu
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "requests": insights.totals.requests,
        "history": [headline.requests for headline in insights.history],
        "distinct": insights.distinct_questions,
        "unlisted": insights.unlisted_questions,
        "calls": fake.requests,
        "message_kb": len(message) / 1024,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    if sys.argv[1:2] == ["--pages"]:
        build_pages(int(sys.argv[2]), Path(sys.argv[3]))
        return
    if sys.argv[1:2] == ["--child"]:
        print(json.dumps(measure(Path(sys.argv[2]))))
        return
    volumes = [int(argument) for argument in sys.argv[1:]] or list(VOLUMES)
    print(f"report of {WEEK} from rollups, eight weeks read, through botocore's parser from a fake DynamoDB")
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        for per_week in volumes:
            path = Path(scratch) / f"pages-{per_week}.pickle"
            builder = [sys.executable, "-m", "bench.reporter_rollups", "--pages", str(per_week), str(path)]
            subprocess.run(builder,
                           check=True)  # fmt: skip
            completed = subprocess.run(
                [sys.executable, "-m", "bench.reporter_rollups", "--child", str(path)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            figures = json.loads(completed.stdout)
            results[per_week] = figures
            lambda_s = figures["cpu_s"] / LAMBDA_VCPU
            calls = ", ".join(f"{count} {name}" for name, count in sorted(figures["calls"].items()))
            print(
                f"  {per_week:>9,} a week: {figures['cpu_s']:.2f} s CPU ({figures['wall_s']:.2f} s wall), "
                f"about {lambda_s:.1f} s on the Lambda; peak {figures['rss_mb']:.0f} MB; "
                f"{figures['requests']:,} questions in the week, {figures['distinct']:,} wordings listed, "
                f"{figures['unlisted']:,} in the long tail; requests: {calls}; "
                f"email {figures['message_kb']:.0f} KB"
            )
    largest, smallest = results[max(results)], results[min(results)]
    print(
        f"  ratio {max(results):,} to {min(results):,} a week: "
        f"CPU {largest['cpu_s'] / smallest['cpu_s']:.2f}x, "
        f"peak memory {largest['rss_mb'] / smallest['rss_mb']:.2f}x"
    )
    worst = largest["cpu_s"] / LAMBDA_VCPU
    print(
        f"  targets at {max(results):,} a week: <= {TARGET_SECONDS} s ({worst:.1f} s on the Lambda, ratio "
        f"{worst / TARGET_SECONDS:.2f}) and <= {TARGET_MB} MB (ratio {largest['rss_mb'] / TARGET_MB:.2f})"
    )


if __name__ == "__main__":
    main()
