"""The traffic the infrastructure review prices a change at (terraform/review_traffic.toml), measured.

The review (`terraform/plan_cost.py`) asks what one function's memory or one table's billing mode costs, so
it needs the run per function (invocations per question or per month, mean duration, log bytes per
invocation) and per table (write and read units per question), not the pipeline's bill per service that
`cost_sheet` gives. Written by `cv-analytics cost --review-traffic FILE`; pure: measurement in, TOML text out.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from cv_analytics.cost.measure import RunMeasurement
from cv_analytics.cost.model import PLATFORM_LOG_BYTES, Deployment

REVIEW_QUESTIONS_PER_WEEK = 10_000
DECIMALS = 6


def _number(value: Decimal) -> str:
    text = f"{round(value, DECIMALS):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _short(name: str, prefix: str) -> str:
    return name.removeprefix(f"{prefix}-")


def review_traffic(run: RunMeasurement, deployment: Deployment, *, name_prefix: str, measured: str) -> str:
    """`run`'s figures per function and per table, for the review, as TOML."""
    questions = Decimal(run.questions)
    lines = [
        "# The traffic the infrastructure review prices a change at (terraform/plan_cost.py), per function",
        "# and per table; written by `./taskw cost -- --review-traffic terraform/review_traffic.toml`.",
        f"questions_per_week = {REVIEW_QUESTIONS_PER_WEEK}",
        f'source = "measured by ./taskw cost on {measured}, {run.questions} questions on the twin"',
    ]
    per_month = {
        deployment.sweep: deployment.sweep_runs_per_month,
        deployment.reporter: deployment.reports_per_month,
    }
    for function in (deployment.processor, deployment.sweep, deployment.reporter):
        invocations = [i for i in run.invocations if i.function == function]
        count = Decimal(len(invocations))
        mean_ms = (
            sum((Decimal(str(i.duration_ms)) for i in invocations), Decimal(0)) / count
            if count
            else Decimal(0)
        )
        log_bytes = (
            Decimal(run.log_bytes.get(function, 0)) / count if count else Decimal(0)
        ) + PLATFORM_LOG_BYTES
        scheduled = function in per_month
        lines += [
            "",
            f"[functions.{_short(function, name_prefix)}]",
            f"invocations_per_question = {_number(Decimal(0) if scheduled else count / questions)}",
            f"invocations_per_month = {_number(per_month.get(function, Decimal(0)))}",
            f"mean_duration_ms = {_number(mean_ms)}",
            f"log_bytes_per_invocation = {_number(log_bytes)}",
        ]
    writes: dict[str, Decimal] = {}
    reads: dict[str, Decimal] = {}
    for named in run.requests:
        request = named.request
        for table, units in request.table_write_units.items():
            writes[table] = writes.get(table, Decimal(0)) + units
        if request.read_table:
            reads[request.read_table] = reads.get(request.read_table, Decimal(0)) + Decimal(
                str(request.read_units)
            )
    for table in sorted(set(writes) | set(reads)):
        lines += [
            "",
            f"[tables.{_short(table, name_prefix)}]",
            f"write_units_per_question = {_number(_per(writes, table, questions))}",
            f"read_units_per_question = {_number(_per(reads, table, questions))}",
        ]
    return "\n".join(lines) + "\n"


def _per(totals: Mapping[str, Decimal], table: str, questions: Decimal) -> Decimal:
    return totals.get(table, Decimal(0)) / questions
