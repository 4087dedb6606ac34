"""`cv-analytics cost`: the measured run, priced at four weekly volumes, as Rich tables and as Markdown.

The functions were measured on the twin (the `local` environment); what they would cost is priced with the
configuration of the environment named (memory, log retention, sweep schedule), `prod` by default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from rich.table import Table

from cv_analytics.cost.measure import RunMeasurement
from cv_analytics.cost.model import (
    LAMBDA_DURATION,
    LAMBDA_REQUESTS,
    LOG_INGESTION,
    READ_UNITS,
    SQS,
    WEEKLY_VOLUMES,
    WRITE_UNITS,
    Deployment,
    Workload,
    monthly_cost_gbp,
    monthly_usage,
    rate_runs_per_month,
    workload,
)
from cv_analytics.pricing.prices import PriceTable
from terraform.environment import Environment


def deployment(priced: Environment, measured: Environment) -> Deployment:
    """The measured functions' names, with the priced environment's memory, retention and schedule."""
    names = {part: measured.function_name(part) for part in ("processor", "sweep", "reporter", "rollup")}
    rollup = priced.reporter.rollup_function()
    memory = {
        names["processor"]: priced.processor.memory_mb,
        names["sweep"]: priced.processor.memory_mb,
        names["reporter"]: priced.reporter.memory_mb,
        names["rollup"]: rollup.memory_mb,
    }
    return Deployment(
        processor=names["processor"],
        sweep=names["sweep"],
        reporter=names["reporter"],
        memory_mb=memory,
        sweep_runs_per_month=rate_runs_per_month(priced.processor.sweep_schedule),
        log_retention_days=priced.log_retention_days,
        rollup=names["rollup"],
        rollup_runs_per_month=rate_runs_per_month(priced.reporter.rollup.schedule),
    )


@dataclass(frozen=True)
class CostSheet:
    """Monthly GBP per service at each weekly volume, without and with the free tier."""

    work: Workload
    without_free_tier: Mapping[int, Mapping[str, Decimal]]
    with_free_tier: Mapping[int, Mapping[str, Decimal]]

    @property
    def services(self) -> list[str]:
        return list(self.without_free_tier[WEEKLY_VOLUMES[0]])


def cost_sheet(run: RunMeasurement, plan: Deployment, prices: PriceTable) -> CostSheet:
    work = workload(run, plan)
    usage = {volume: monthly_usage(work, volume, plan) for volume in WEEKLY_VOLUMES}
    return CostSheet(
        work=work,
        without_free_tier={v: monthly_cost_gbp(u, prices, free_tier=False) for v, u in usage.items()},
        with_free_tier={v: monthly_cost_gbp(u, prices, free_tier=True) for v, u in usage.items()},
    )


def pounds(amount: Decimal) -> str:
    if amount == 0:
        return "£0"
    if amount < Decimal("0.01"):
        return "<£0.01"
    return f"£{amount:,.2f}"


def _volume(volume: int) -> str:
    return f"{volume:,}/week"


def cost_table(sheet: CostSheet, *, free_tier: bool) -> Table:
    costs = sheet.with_free_tier if free_tier else sheet.without_free_tier
    title = "with the free tier (first 12 months)" if free_tier else "without any free tier"
    table = Table(title=f"Monthly AWS cost in GBP, {title}", title_justify="left")
    table.add_column("service")
    for volume in WEEKLY_VOLUMES:
        table.add_column(_volume(volume), justify="right")
    for service in sheet.services:
        table.add_row(service, *(pounds(costs[v][service]) for v in WEEKLY_VOLUMES))
    table.add_section()
    table.add_row(
        "total", *(pounds(sum(costs[v].values(), Decimal(0))) for v in WEEKLY_VOLUMES), style="bold"
    )
    return table


def _figure(value: Decimal) -> str:
    return f"{value:,.4f}".rstrip("0").rstrip(".") if value else "0"


def per_question_table(run: RunMeasurement, sheet: CostSheet) -> Table:
    """What one question asked of AWS in the measured run."""
    work = sheet.work.per_question
    table = Table(title=f"Measured per question ({run.questions} questions)", title_justify="left")
    table.add_column("what")
    table.add_column("per question", justify="right")
    rows = (
        ("SQS requests (send, receive, delete)", SQS, Decimal(1)),
        ("processor invocations", LAMBDA_REQUESTS, Decimal(1)),
        ("Lambda GB-seconds", LAMBDA_DURATION, Decimal(1)),
        ("DynamoDB write request units", WRITE_UNITS, Decimal(1)),
        ("DynamoDB read request units", READ_UNITS, Decimal(1)),
        ("log bytes ingested", LOG_INGESTION, Decimal(10**9)),
    )
    for label, key, scale in rows:
        table.add_row(label, _figure(work.get(key, Decimal(0)) * scale))
    table.add_row("bytes stored in DynamoDB", _figure(sheet.work.stored_bytes_per_question))
    table.add_row("alarms, custom metrics (a month)", f"{run.alarms}, {run.custom_metrics}")
    return table


def markdown(sheet: CostSheet) -> str:
    """The same figures as Markdown tables, for the README."""
    lines = []
    for free_tier in (False, True):
        costs = sheet.with_free_tier if free_tier else sheet.without_free_tier
        lines.append("with the free tier" if free_tier else "without the free tier")
        lines.append("")
        lines.append("| service | " + " | ".join(_volume(v) for v in WEEKLY_VOLUMES) + " |")
        lines.append("| --- |" + " ---: |" * len(WEEKLY_VOLUMES))
        for service in sheet.services:
            lines.append(
                f"| {service} | " + " | ".join(pounds(costs[v][service]) for v in WEEKLY_VOLUMES) + " |"
            )
        totals = " | ".join(f"**{pounds(sum(costs[v].values(), Decimal(0)))}**" for v in WEEKLY_VOLUMES)
        lines.append(f"| **total** | {totals} |")
        lines.append("")
    return "\n".join(lines)
