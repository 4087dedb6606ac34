"""Aggregation throughput and memory: one pass of WeekAggregator over 1,000,000 synthetic records.

Targets: at least 200,000 records/s, at most 512 MB peak memory. The work runs in a child process so its
peak resident set (ru_maxrss, interpreter and imports included) is the figure, not the parent's. Records
are generated in chunks outside the timed part; the timed part is `add_all` plus building the insights
(sorting latencies, merging questions). Both wall and CPU time are printed: on a shared machine the wall
figure includes time spent waiting for a core.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from zoneinfo import ZoneInfo

RECORDS = 1_000_000
TARGET_RATE = 200_000
TARGET_MEMORY_MB = 512


def measure(count: int) -> dict[str, float]:
    from bench.reporter_data import synthetic_requests
    from reporter.aggregation import WeekAggregator, build_insights, data_quality
    from reporter.period import ReportWeek
    from reporter.settings import ReporterSettings

    settings = ReporterSettings()
    week = ReportWeek.parse("2026-W47", ZoneInfo("Europe/London"))
    current, previous = WeekAggregator(week), WeekAggregator(week.previous())
    wall = cpu = 0.0
    for chunk in synthetic_requests(week, count):
        started, started_cpu = time.perf_counter(), time.process_time()
        current.add_all(chunk)  # as service.collect does: every batch goes to both weeks' aggregators
        previous.add_all(chunk)
        wall += time.perf_counter() - started
        cpu += time.process_time() - started_cpu
    started, started_cpu = time.perf_counter(), time.process_time()
    # Without the grouper: grouping by meaning has its own benchmark (bench/reporter_grouping.py).
    insights = build_insights(
        [previous, current],
        data_quality(current, [], 0, 0),
        settings.model_prices(),
        settings.report_currency,
        None,
    )
    wall += time.perf_counter() - started
    cpu += time.process_time() - started_cpu
    assert insights.totals.requests == count
    return {"wall_s": wall, "cpu_s": cpu, "questions": insights.distinct_questions}


def main() -> None:
    if "--child" in sys.argv:
        print(json.dumps(measure(int(sys.argv[-1]))))
        return
    completed = subprocess.run(
        [sys.executable, "-m", "bench.reporter_aggregate", "--child", str(RECORDS)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    figures = json.loads(completed.stdout)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    wall_rate = RECORDS / figures["wall_s"]
    cpu_rate = RECORDS / figures["cpu_s"]
    print(f"reporter aggregation over {RECORDS:,} records ({figures['questions']:,} distinct questions)")
    print(f"  time: {figures['wall_s']:.2f} s wall, {figures['cpu_s']:.2f} s CPU (one thread)")
    print(
        f"  throughput: {wall_rate:,.0f} records/s wall, {cpu_rate:,.0f} records/s CPU; "
        f"target >= {TARGET_RATE:,}: ratio {wall_rate / TARGET_RATE:.2f}x wall, "
        f"{cpu_rate / TARGET_RATE:.2f}x CPU"
    )
    print(
        "  (wall time includes waiting for the CPU when other processes share the machine; CPU time does not)"
    )
    print(
        f"  peak memory (child max RSS): {peak_mb:,.0f} MB; target <= {TARGET_MEMORY_MB} MB: "
        f"ratio {peak_mb / TARGET_MEMORY_MB:.2f} of the budget"
    )


if __name__ == "__main__":
    main()
