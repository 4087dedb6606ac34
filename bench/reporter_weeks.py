"""Reading eight weeks for the report: how many DynamoDB requests, and how long, at 10,000 questions a week.

Eight weeks of 10,000 records each are written into moto server (the report reads only its eight weeks'
day partitions, so the other 44 weeks of a year change neither figure), then `AnalyticsReader` reads them
as `service.collect` does. Every DynamoDB request the reader sends is counted from botocore's events, so
the count is what the code does, Queries and their follow-up pages apart. moto is slower than DynamoDB per
page and runs on this machine, so the time is an upper bound of the code's own cost, not of AWS latency.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from typing import Any
from zoneinfo import ZoneInfo

from tests.support.reporter_tables import create_tables, put_requests

from bench.reporter_data import synthetic_requests
from contract.dynamodb import client_of
from cv_analytics.local.moto_server import running_moto_server
from reporter.aggregation import WeekAggregator, WeekRouter, report_weeks
from reporter.period import ReportWeek
from reporter.settings import ReporterSettings
from reporter.store import AnalyticsReader

PER_WEEK = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000


def main() -> None:
    week = ReportWeek.parse("2026-W47", ZoneInfo("Europe/London"))
    weeks = report_weeks(week)
    with running_moto_server() as server:
        os.environ.update(server.environment())
        settings = ReporterSettings()
        reader = AnalyticsReader(settings)
        create_tables()
        started = time.perf_counter()
        for each in weeks:
            for chunk in synthetic_requests(each, PER_WEEK, seed=each.number):
                put_requests(list(chunk), settings.analytics_write_shards)
        written = time.perf_counter() - started
        calls: Counter[str] = Counter()

        def count(model: Any, params: Any, **_: Any) -> None:
            calls["Query page" if params.get("ExclusiveStartKey") else "Query"] += 1

        from contract.tables import RequestRecord

        client_of(RequestRecord).meta.events.register("provide-client-params.dynamodb.Query", count)
        aggregators = [WeekAggregator(each) for each in weeks]
        router = WeekRouter(aggregators)
        days = sorted({day for each in weeks for day in each.utc_days()})
        started = time.perf_counter()
        records = 0
        for batch in reader.requests(days):
            records += len(batch)
            router.add_all(batch)
        read = time.perf_counter() - started
    print(f"eight weeks of {PER_WEEK:,} questions each in moto server (written in {written:.0f} s)")
    print(
        f"  read {records:,} records from {len(days)} day partitions in {read:.1f} s: "
        f"{calls['Query']} Queries and {calls['Query page']} follow-up pages, no Scan; "
        f"per week {[aggregator.figures.requests for aggregator in aggregators]}"
    )


if __name__ == "__main__":
    main()
