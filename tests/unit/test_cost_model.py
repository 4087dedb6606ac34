"""The cost model's arithmetic against an example worked out by hand (comments show the working)."""

from __future__ import annotations

from decimal import Decimal

from cv_analytics.cost.measure import EDGE, CallerRequest, RunMeasurement
from cv_analytics.cost.model import (
    Deployment,
    monthly_cost_gbp,
    monthly_usage,
    rate_runs_per_month,
    workload,
)
from cv_analytics.local.lambda_runtime import Invocation
from cv_analytics.local.request_meter import MeteredRequest
from cv_analytics.pricing.prices import load_prices

PROCESSOR, SWEEP, REPORTER = "p", "s", "r"
RATE = Decimal("0.7604")


def _requests() -> tuple[CallerRequest, ...]:
    def sqs(caller: str, action: str) -> CallerRequest:
        return CallerRequest(caller, MeteredRequest("sqs", action, "k", 200))

    def dynamodb(caller: str, write: int = 0, index: int = 0, read: float = 0) -> CallerRequest:
        return CallerRequest(caller, MeteredRequest("dynamodb", "X", "k", 200, write, index, read))

    return (
        *(sqs(EDGE, "SendMessage") for _ in range(20)),
        *(
            sqs(f"{PROCESSOR}-event-source", action)
            for action in ("ReceiveMessage",) * 2 + ("DeleteMessageBatch",) * 2
        ),
        dynamodb(PROCESSOR, write=100, index=20, read=10),
        dynamodb(SWEEP, write=10),
        dynamodb(REPORTER, read=5),
        dynamodb(REPORTER, write=4),
        CallerRequest(REPORTER, MeteredRequest("email", "SendRawEmail", "k", 200)),
    )


RUN = RunMeasurement(
    questions=10,
    requests=_requests(),
    invocations=(
        Invocation(PROCESSOR, 128, 99.2),  # billed 100 ms each: the memory is the priced environment's
        Invocation(PROCESSOR, 128, 100.0),
        Invocation(SWEEP, 128, 50.0),
        Invocation(REPORTER, 128, 1000.0),
    ),
    log_bytes={PROCESSOR: 1000},
    alarms=12,
    custom_metrics=10,
    stored_bytes=10_000,
)
PLAN = Deployment(
    processor=PROCESSOR,
    sweep=SWEEP,
    reporter=REPORTER,
    memory_mb={PROCESSOR: 256, SWEEP: 256, REPORTER: 512},
    sweep_runs_per_month=rate_runs_per_month("rate(15 minutes)"),
    log_retention_days=30,
    reports_per_month=Decimal(4),
)


def test_a_rate_schedule_fires_that_often_in_an_average_month() -> None:
    assert rate_runs_per_month("rate(15 minutes)") == 2920  # 365/12 days x 96 a day
    assert rate_runs_per_month("rate(1 hour)") == 730


def test_the_monthly_bill_at_1200_questions_a_week_is_the_hand_computed_one() -> None:
    prices = load_prices()
    usage = monthly_usage(workload(RUN, PLAN), 1200, PLAN)  # 1,200 x 52/12 = 5,200 questions a month
    # SQS: 24 requests / 10 questions x 5,200 = 12,480, plus idle long polls 5 x 43,800 min x 3 = 657,000.
    assert usage["sqs_fifo_requests"] == 669_480
    # Writes: (100 + 20 + 10) / 10 x 5,200 = 67,600, plus the report's 4 units x 4 reports = 16.
    assert usage["dynamodb_write_request_units"] == 67_616
    # Reads: (10 + 5) / 10 x 5,200 = 7,800, plus half a unit per sweep run x 2,920 = 1,460.
    assert usage["dynamodb_read_request_units"] == 9_260
    # Invocations: 2/10 x 5,200 = 1,040 processor, 2,920 sweeps, 4 reports.
    assert usage["lambda_requests"] == 3_964
    # GB-s: 2 x 0.1 s x 0.25 GB / 10 x 5,200 = 26; 0.05 s x 0.25 GB x 2,920 = 36.5; 1 s x 0.5 GB x 4 = 2.
    assert usage["lambda_arm_duration"] == Decimal("64.5")
    assert usage["scheduler_invocations"] == 2_924
    assert usage["ses_emails"] == 4
    # Logs: (1,000 + 2 x 300) / 10 x 5,200 = 832,000 bytes; 300 x 2,920 = 876,000; 300 x 4 = 1,200.
    assert usage["logs_ingestion"] == Decimal("0.0017092")
    # Stored for 30 of 365/12 days.
    assert usage["logs_storage"] == Decimal("0.0017092") * 30 / (Decimal(365) / 12)
    # 1,000 bytes a question, 5,200 a month, 12 months kept: 0.0624 GB.
    assert usage["dynamodb_storage"] == Decimal("0.0624")

    without = monthly_cost_gbp(usage, prices, free_tier=False)
    assert without["SQS"] == Decimal("669480") * Decimal("0.50") / 1_000_000 * RATE
    # 67,616 x $0.625/M + 9,260 x $0.125/M + 0.0624 GB x $0.25
    assert (
        without["DynamoDB"]
        == (
            Decimal("67616") * Decimal("0.625") / 1_000_000
            + Decimal("9260") * Decimal("0.125") / 1_000_000
            + Decimal("0.0624") * Decimal("0.25")
        )
        * RATE
    )
    assert without["CloudWatch"] == (12 * Decimal("0.10") + 10 * Decimal("0.30")) * RATE
    assert without["SES"] == 4 * Decimal("0.10") / 1000 * RATE

    free = monthly_cost_gbp(usage, prices, free_tier=True)
    assert free["SQS"] == 0  # under the 1,000,000 free requests
    assert free["Lambda"] == 0
    assert free["CloudWatch"] == 2 * Decimal("0.10") * RATE  # 10 alarms and 10 metrics are free
    # On-demand request units have no free tier; 0.0624 GB is under the free 25 GB.
    assert (
        free["DynamoDB"]
        == (Decimal("67616") * Decimal("0.625") / 1_000_000 + Decimal("9260") * Decimal("0.125") / 1_000_000)
        * RATE
    )
