"""From one measured run to a monthly bill: quantities per price, at any weekly volume, priced in GBP.

Pure arithmetic on a `RunMeasurement`, so it is tested against a hand-computed example. What scales with
the questions asked is taken per question from the run; what happens on a schedule (the sweep every
15 minutes, the Monday report) is taken per run of it; alarms and custom metrics are a monthly constant.

How each measured thing is allotted:
- every SQS request (the Worker's sends, the event source's receives and deletes), every processor
  invocation and its duration, its logs, and every DynamoDB unit of the processor and of the sweep (the
  sweep's writes are the orphans', so they grow with the questions) count per question;
- a sweep run is one invocation (at the run's mean duration, an upper bound for an idle run), one
  Scheduler invocation and one Query of the pending index (half a read unit at least);
- a report is one invocation, one Scheduler invocation, its email and its marker writes; its reads grow
  with the week's records, so they count per question;
- a roll-up run is one invocation (at the run's mean duration: the demo's one run builds a whole week, so an
  upper bound for an hourly run) and one Scheduler invocation; its DynamoDB units read each record once and
  write a few items a day, so they count per question (in the demo every record is flagged late, by its
  replay clock, so its units there include a flag removal per question that live traffic does not have);
- Lambda's own START, END and REPORT lines add `PLATFORM_LOG_BYTES` to every invocation's log;
- on an idle queue, Lambda's SQS poller keeps long polls open: `IDLE_RECEIVES_PER_MONTH` assumes the
  five pollers Lambda starts with, each a 20-second long poll back to back. Not measured: the twin's event
  source polls its own way.
Storage: the records are kept, so the DynamoDB bill carries the stored bytes of `months_kept` months of
questions; logs are kept for the log groups' retention.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from cv_analytics.cost.measure import RunMeasurement
from cv_analytics.local.lambda_runtime import Invocation
from cv_analytics.pricing.prices import PriceTable

WEEKS_PER_MONTH = Decimal(52) / 12
DAYS_PER_MONTH = Decimal(365) / 12
MINUTES_PER_MONTH = Decimal(365 * 24 * 60) / 12  # 43,800 exactly
GB = Decimal(10**9)
PLATFORM_LOG_BYTES = 300
IDLE_POLLERS = 5
IDLE_RECEIVES_PER_MONTH = IDLE_POLLERS * MINUTES_PER_MONTH * 3  # one 20 s long poll = 3 a minute each
EMPTY_QUERY_READ_UNITS = Decimal("0.5")

WEEKLY_VOLUMES = (1_000, 10_000, 100_000, 1_000_000)

# The quantities the model fills, by price key of the price table.
SQS = "sqs_fifo_requests"
LAMBDA_REQUESTS = "lambda_requests"
LAMBDA_DURATION = "lambda_arm_duration"
WRITE_UNITS = "dynamodb_write_request_units"
READ_UNITS = "dynamodb_read_request_units"
DYNAMODB_STORAGE = "dynamodb_storage"
SES = "ses_emails"
SCHEDULER = "scheduler_invocations"
ALARMS = "cloudwatch_alarm_standard"
METRICS = "cloudwatch_custom_metric"
LOG_INGESTION = "logs_ingestion"
LOG_STORAGE = "logs_storage"


@dataclass(frozen=True)
class Deployment:
    """What the priced environment configures, and which measured functions play which part."""

    processor: str
    sweep: str
    reporter: str
    memory_mb: Mapping[str, int]  # by function name
    sweep_runs_per_month: Decimal
    log_retention_days: int
    rollup: str | None = None
    rollup_runs_per_month: Decimal = Decimal(0)
    reports_per_month: Decimal = WEEKS_PER_MONTH
    months_kept: int = 12


Quantities = dict[str, Decimal]


@dataclass(frozen=True)
class Workload:
    per_question: Quantities
    per_sweep_run: Quantities
    per_report: Quantities
    per_rollup_run: Quantities
    per_month: Quantities
    stored_bytes_per_question: Decimal


def _add(into: Quantities, key: str, amount: Decimal | int | float) -> None:
    into[key] = into.get(key, Decimal(0)) + Decimal(str(amount))


def gb_seconds(invocations: Iterable[Invocation], memory_mb: int) -> Decimal:
    """Billed duration: each invocation rounded up to the millisecond, at the configured memory."""
    milliseconds = sum(math.ceil(invocation.duration_ms) for invocation in invocations)
    return Decimal(milliseconds) / 1000 * Decimal(memory_mb) / 1024


def _per(total: Quantities, count: Decimal | int) -> Quantities:
    return {key: value / Decimal(count) for key, value in total.items()} if count else {}


def workload(run: RunMeasurement, deployment: Deployment) -> Workload:
    """Split what the run measured into per question, per sweep run, per report and per month."""
    questions, sweeps, reports, rollups = Quantities(), Quantities(), Quantities(), Quantities()
    for named in run.requests:
        request = named.request
        is_reporter = named.caller.startswith(deployment.reporter)
        if request.service == "sqs":
            _add(questions, SQS, 1)
        elif request.service == "dynamodb":
            _add(reports if is_reporter else questions, WRITE_UNITS, request.write_units)
            _add(reports if is_reporter else questions, WRITE_UNITS, request.index_write_units)
            _add(questions, READ_UNITS, request.read_units)
        elif request.service in ("ses", "email") and request.action.startswith("Send"):
            _add(reports, SES, 1)
    by_function: dict[str, list[Invocation]] = {}
    for invocation in run.invocations:
        by_function.setdefault(invocation.function, []).append(invocation)
    for function, bucket in (
        (deployment.processor, questions),
        (deployment.sweep, sweeps),
        (deployment.reporter, reports),
        *([(deployment.rollup, rollups)] if deployment.rollup else []),
    ):
        invocations = by_function.get(function, [])
        memory = deployment.memory_mb[function]
        _add(bucket, LAMBDA_REQUESTS, len(invocations))
        _add(bucket, LAMBDA_DURATION, gb_seconds(invocations, memory))
        log_bytes = run.log_bytes.get(function, 0) + PLATFORM_LOG_BYTES * len(invocations)
        _add(bucket, LOG_INGESTION, Decimal(log_bytes) / GB)
    sweep_runs = len(by_function.get(deployment.sweep, [])) or 1
    report_runs = len(by_function.get(deployment.reporter, [])) or 1
    per_sweep = _per(sweeps, sweep_runs)
    _add(per_sweep, SCHEDULER, 1)
    _add(per_sweep, READ_UNITS, EMPTY_QUERY_READ_UNITS)
    per_report = _per(reports, report_runs)
    _add(per_report, SCHEDULER, 1)
    per_rollup = _per(rollups, len(by_function.get(deployment.rollup or "", [])) or 1)
    if deployment.rollup:
        _add(per_rollup, SCHEDULER, 1)
    return Workload(
        per_question=_per(questions, run.questions),
        per_sweep_run=per_sweep,
        per_report=per_report,
        per_rollup_run=per_rollup,
        per_month={
            ALARMS: Decimal(run.alarms),
            METRICS: Decimal(run.custom_metrics),
            SQS: IDLE_RECEIVES_PER_MONTH,
        },
        stored_bytes_per_question=Decimal(run.stored_bytes) / run.questions,
    )


def monthly_usage(work: Workload, questions_per_week: int, deployment: Deployment) -> Quantities:
    """Every price's quantity in a month at `questions_per_week`."""
    questions = Decimal(questions_per_week) * 52 / 12  # exact for whole weeks of 12 questions
    usage = Quantities()
    for quantities, count in (
        (work.per_question, questions),
        (work.per_sweep_run, deployment.sweep_runs_per_month),
        (work.per_report, deployment.reports_per_month),
        (work.per_rollup_run, deployment.rollup_runs_per_month),
        (work.per_month, Decimal(1)),
    ):
        for key, amount in quantities.items():
            _add(usage, key, amount * count)
    usage[LOG_STORAGE] = usage.get(LOG_INGESTION, Decimal(0)) * deployment.log_retention_days / DAYS_PER_MONTH
    usage[DYNAMODB_STORAGE] = work.stored_bytes_per_question * questions * deployment.months_kept / GB
    return usage


def monthly_cost_gbp(
    usage: Mapping[str, Decimal], prices: PriceTable, *, free_tier: bool
) -> dict[str, Decimal]:
    """The month's bill per service in GBP (with or without the free tier), services in price order."""
    costs: dict[str, Decimal] = {}
    for key, quantity in usage.items():
        service = prices.price(key).service
        cost = prices.monthly_cost_gbp(key, quantity, free_tier=free_tier)
        costs[service] = costs.get(service, Decimal(0)) + cost
    return costs


def rate_runs_per_month(expression: str) -> Decimal:
    """How often `rate(N minutes|hours|days)` fires in an average month."""
    inner = expression.strip().removeprefix("rate(").removesuffix(")")
    amount, _, unit = inner.partition(" ")
    minutes = {"minute": 1, "minutes": 1, "hour": 60, "hours": 60, "day": 1440, "days": 1440}
    if not amount.isdigit() or unit not in minutes:
        raise ValueError(f"not a rate expression: {expression!r}")
    return MINUTES_PER_MONTH / (int(amount) * minutes[unit])
