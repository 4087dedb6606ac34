"""The review's traffic file, written from a measured run, against figures computed by hand."""

from __future__ import annotations

import tomllib
from decimal import Decimal

from cv_analytics.cost.measure import CallerRequest, RunMeasurement
from cv_analytics.cost.model import PLATFORM_LOG_BYTES, Deployment
from cv_analytics.cost.review_traffic import review_traffic
from cv_analytics.local.lambda_runtime import Invocation
from cv_analytics.local.request_meter import MeteredRequest
from terraform.plan_cost import parse_traffic

PREFIX = "cv-analytics-local"
PROCESSOR, SWEEP, REPORTER = (f"{PREFIX}-{name}" for name in ("processor", "sweep", "reporter"))
DEPLOYMENT = Deployment(
    PROCESSOR,
    SWEEP,
    REPORTER,
    {PROCESSOR: 256, SWEEP: 256, REPORTER: 512},
    sweep_runs_per_month=Decimal(2920),
    log_retention_days=90,
)


def _write(units: dict[str, int]) -> CallerRequest:
    return CallerRequest(
        PROCESSOR, MeteredRequest("dynamodb", "TransactWriteItems", "k", 200, table_write_units=units)
    )


def test_each_function_and_table_is_measured_per_question_or_per_month() -> None:
    run = RunMeasurement(
        questions=10,
        requests=(
            _write({f"{PREFIX}-analytics": 6, f"{PREFIX}-query-events": 4}),
            _write({f"{PREFIX}-analytics": 4}),
            CallerRequest(
                REPORTER,
                MeteredRequest(
                    "dynamodb", "Query", "k", 200, read_units=2.5, read_table=f"{PREFIX}-analytics"
                ),
            ),
        ),
        invocations=(
            Invocation(PROCESSOR, 256, 100.0),
            Invocation(PROCESSOR, 256, 300.0),
            Invocation(SWEEP, 256, 40.0),
            Invocation(REPORTER, 512, 2000.0),
        ),
        log_bytes={PROCESSOR: 1000, SWEEP: 0, REPORTER: 5000},
        alarms=5,
        custom_metrics=8,
        stored_bytes=0,
    )
    text = review_traffic(run, DEPLOYMENT, name_prefix=PREFIX, measured="2026-12-01")
    traffic = parse_traffic(tomllib.loads(text, parse_float=Decimal))
    processor, sweep, reporter = (traffic.functions[k] for k in ("processor", "sweep", "reporter"))
    assert processor.invocations_per_question == Decimal("0.2") and processor.invocations_per_month == 0
    assert processor.mean_duration_ms == 200
    assert processor.log_bytes_per_invocation == 500 + PLATFORM_LOG_BYTES
    assert (sweep.invocations_per_question, sweep.invocations_per_month, sweep.mean_duration_ms) == (
        Decimal(0),
        Decimal(2920),
        Decimal(40),
    )
    assert reporter.invocations_per_month == Decimal("4.333333")  # 52 reports in 12 months
    analytics, interim = traffic.tables["analytics"], traffic.tables["query-events"]
    assert analytics.write_units_per_question == 1 and analytics.read_units_per_question == Decimal("0.25")
    assert (interim.write_units_per_question, interim.read_units_per_question) == (Decimal("0.4"), Decimal(0))
    assert traffic.source == "measured by ./taskw cost on 2026-12-01, 10 questions on the twin"
