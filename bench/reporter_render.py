"""Rendering the weekly email: Jinja2 templates plus premailer's CSS inlining, against a 200 ms target.

A busy week (20,000 records: every section full, lists at their caps) is rendered repeatedly; the median
and the slowest run are compared with the target, and the split shows what inlining costs over Jinja2
alone. The size printed is the whole MIME message, which must stay under Gmail's 102 KB clipping limit.
"""

from __future__ import annotations

import statistics
import time
from zoneinfo import ZoneInfo

from bench.reporter_data import synthetic_requests
from reporter.aggregation import WeekAggregator, build_insights, data_quality
from reporter.mailer import build_message
from reporter.period import ReportWeek
from reporter.records import Quarantined
from reporter.render import _ENVIRONMENT, GMAIL_CLIP_BYTES, render, subject
from reporter.settings import ReporterSettings

TARGET_MS = 200
RUNS = 15


def main() -> None:
    settings = ReporterSettings()
    week = ReportWeek.parse("2026-W47", ZoneInfo("Europe/London"))
    current = WeekAggregator(week)
    for chunk in synthetic_requests(week, 20_000, pool_size=5_000):
        current.add_all(chunk)
    quarantined = [
        Quarantined(f"m{n}", week.start_ms + n, f"$.field{n % 7}: must be string") for n in range(30)
    ]
    insights = build_insights(
        [WeekAggregator(week.previous()), current],
        data_quality(current, quarantined, 3, 12),
        settings.model_prices(),
        settings.report_currency,
        None,  # grouping by meaning is measured by bench/reporter_grouping.py
    )
    render(insights)  # first run compiles the templates and warms premailer's caches

    totals, templates_only = [], []
    for _ in range(RUNS):
        started = time.perf_counter()
        email = render(insights)
        totals.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        _ENVIRONMENT.get_template("report.html").render(r=insights, subject=subject(insights))
        templates_only.append((time.perf_counter() - started) * 1000)
    message = build_message(email, "reports@example.dev", ["owner@example.dev"])
    median, slowest = statistics.median(totals), max(totals)
    jinja = statistics.median(templates_only)
    print(f"reporter render + CSS inlining, {RUNS} runs of a full week")
    print(f"  median {median:.1f} ms, slowest {slowest:.1f} ms (Jinja2 HTML alone {jinja:.1f} ms, "
          f"so inlining is {median - jinja:.1f} ms)")  # fmt: skip
    print(
        f"  target <= {TARGET_MS} ms: median at {median / TARGET_MS:.2f} of it, "
        f"slowest at {slowest / TARGET_MS:.2f}"
    )
    print(
        f"  message: {len(message) / 1024:.1f} KB MIME ({len(email.html.encode()) / 1024:.1f} KB HTML, "
        f"{len(email.text.encode()) / 1024:.1f} KB text); Gmail clips at {GMAIL_CLIP_BYTES // 1024} KB: "
        f"ratio {len(message) / GMAIL_CLIP_BYTES:.2f}"
    )


if __name__ == "__main__":
    main()
