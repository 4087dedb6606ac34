"""The monthly cost a plan adds or removes, priced from the repository's price table (`cv_analytics.pricing`)
at a stated traffic level (terraform/review_traffic.toml), with the cost model's month and gigabyte.

A reviewer weighs "+£0.05 a month" differently from "+£40 a month", and neither figure is in a plan. What
has a standing price is priced per month (an alarm, a KMS key); what is priced by use is priced at the
stated traffic (a function's memory, a log group's retention, an on-demand or provisioned table); resources
without a charge of their own (roles, policies, aliases, schedules' definitions) are not listed. A change
this module cannot price is listed as unpriced with the reason, never guessed. Figures are before any free
tier: the review asks what a change costs, not whether this month's allowance happens to absorb it.
Pure: plan entries, the price table and the traffic in; cost lines out.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from cv_analytics.cost.model import DAYS_PER_MONTH, GB, WEEKS_PER_MONTH
from cv_analytics.pricing.prices import PriceTable, load_prices

TRAFFIC_FILE = Path(__file__).resolve().parent / "review_traffic.toml"
MIB_PER_GB = Decimal(1024)  # Lambda's memory: MB configured, GB-seconds billed
# CloudWatch bills an alarm on a period under a minute at the high-resolution rate, which the table lacks.
STANDARD_ALARM_MIN_PERIOD = 60


@dataclass(frozen=True)
class FunctionUse:
    """How much one function runs at the stated traffic: per question, plus a fixed monthly part (a
    schedule's invocations)."""

    invocations_per_question: Decimal
    invocations_per_month: Decimal
    mean_duration_ms: Decimal
    log_bytes_per_invocation: Decimal

    def invocations(self, questions_per_month: Decimal) -> Decimal:
        return self.invocations_per_question * questions_per_month + self.invocations_per_month


@dataclass(frozen=True)
class TableUse:
    write_units_per_question: Decimal
    read_units_per_question: Decimal


@dataclass(frozen=True)
class Traffic:
    """The traffic level a review prices at, and where its per-question figures come from."""

    questions_per_week: Decimal
    source: str
    functions: Mapping[str, FunctionUse]
    tables: Mapping[str, TableUse]

    @property
    def questions_per_month(self) -> Decimal:
        return self.questions_per_week * WEEKS_PER_MONTH

    def function(self, name: str) -> FunctionUse | None:
        """The use of the function whose deployed name ends with a known one (`...-processor`)."""
        return next((use for key, use in self.functions.items() if name.endswith(f"-{key}")), None)

    def table(self, name: str) -> TableUse | None:
        return next((use for key, use in self.tables.items() if name.endswith(f"-{key}")), None)


def _decimal(entry: Mapping[str, Any], name: str, where: str) -> Decimal:
    value = entry.get(name)
    if not isinstance(value, int | Decimal) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{where}: {name} must be a number of at least 0, not {value!r}")
    return Decimal(value)


def parse_traffic(document: Mapping[str, Any], origin: str = "traffic") -> Traffic:
    functions = {
        key: FunctionUse(
            *(_decimal(entry, name, f"{origin}: functions.{key}") for name in (
                "invocations_per_question", "invocations_per_month", "mean_duration_ms",
                "log_bytes_per_invocation",
            ))
        )
        for key, entry in (document.get("functions") or {}).items()
    }  # fmt: skip
    tables = {
        key: TableUse(*(_decimal(entry, name, f"{origin}: tables.{key}")
                        for name in ("write_units_per_question", "read_units_per_question")))
        for key, entry in (document.get("tables") or {}).items()
    }  # fmt: skip
    source = document.get("source")
    if not isinstance(source, str) or not source.strip():
        raise ValueError(f"{origin}: source must say where the per-question figures come from")
    return Traffic(_decimal(document, "questions_per_week", origin), source, functions, tables)


@cache
def load_traffic(path: Path = TRAFFIC_FILE) -> Traffic:
    return parse_traffic(tomllib.loads(path.read_text(encoding="utf-8"), parse_float=Decimal), str(path))


@dataclass(frozen=True)
class Pricing:
    prices: PriceTable
    traffic: Traffic


def default_pricing() -> Pricing:
    return Pricing(load_prices(), load_traffic())


@dataclass(frozen=True)
class CostChange:
    """One resource's monthly cost change in GBP (`None`: unpriced, `why` says why)."""

    address: str
    what: str
    monthly_gbp: Decimal | None
    why: str = ""


def _usd(pricing: Pricing, key: str, quantity: Decimal) -> Decimal:
    return pricing.prices.price(key).cost_usd(quantity)


def _alarm(values: Mapping[str, Any], pricing: Pricing) -> Decimal | str:
    period = values.get("period")
    if isinstance(period, int) and period < STANDARD_ALARM_MIN_PERIOD:
        return f"a {period} s period is a high-resolution alarm, which the price table has no price for"
    return _usd(pricing, "cloudwatch_alarm_standard", Decimal(1))


def _kms_key(_values: Mapping[str, Any], pricing: Pricing) -> Decimal | str:
    return _usd(pricing, "kms_key", Decimal(1))


def _function(values: Mapping[str, Any], pricing: Pricing) -> Decimal | str:
    name = str(values.get("function_name") or "")
    use = pricing.traffic.function(name)
    if use is None:
        return f"no stated traffic for {name or 'this function'} in {TRAFFIC_FILE.name}"
    if (values.get("architectures") or ["x86_64"]) != ["arm64"]:
        return "only arm64 Lambda duration is in the price table"
    memory = values.get("memory_size")
    if not isinstance(memory, int):
        return "its memory is known only after apply"
    invocations = use.invocations(pricing.traffic.questions_per_month)
    gb_seconds = invocations * use.mean_duration_ms / 1000 * Decimal(memory) / MIB_PER_GB
    return _usd(pricing, "lambda_arm_duration", gb_seconds) + _usd(pricing, "lambda_requests", invocations)


def _log_group(values: Mapping[str, Any], pricing: Pricing) -> Decimal | str:
    name = str(values.get("name") or "")
    use = pricing.traffic.function(name)
    if use is None:
        return f"no stated traffic writes to {name or 'this log group'}"
    retention = values.get("retention_in_days")
    if not isinstance(retention, int) or retention <= 0:
        return "logs kept forever: their storage grows every month"
    ingested_gb = use.invocations(pricing.traffic.questions_per_month) * use.log_bytes_per_invocation / GB
    stored_gb_months = ingested_gb * Decimal(retention) / DAYS_PER_MONTH  # a steady state: days kept
    return _usd(pricing, "logs_ingestion", ingested_gb) + _usd(pricing, "logs_storage", stored_gb_months)


def _table(values: Mapping[str, Any], pricing: Pricing) -> Decimal | str:
    if values.get("billing_mode") == "PROVISIONED":
        writes, reads = values.get("write_capacity"), values.get("read_capacity")
        if not isinstance(writes, int) or not isinstance(reads, int):
            return "its provisioned capacity is known only after apply"
        return _usd(pricing, "dynamodb_provisioned_wcu", Decimal(writes)) + _usd(
            pricing, "dynamodb_provisioned_rcu", Decimal(reads)
        )
    name = str(values.get("name") or "")
    use = pricing.traffic.table(name)
    if use is None:
        return f"no stated traffic for {name or 'this table'} in {TRAFFIC_FILE.name}"
    questions = pricing.traffic.questions_per_month
    return _usd(pricing, "dynamodb_write_request_units", use.write_units_per_question * questions) + _usd(
        pricing, "dynamodb_read_request_units", use.read_units_per_question * questions
    )


PRICED = {
    "aws_cloudwatch_metric_alarm": _alarm,
    "aws_kms_key": _kms_key,
    "aws_lambda_function": _function,
    "aws_cloudwatch_log_group": _log_group,
    "aws_dynamodb_table": _table,
}
# What the description of each priced change names, so a reviewer sees what drives the figure.
DRIVERS = {
    "aws_lambda_function": ("memory_size", "architectures"),
    "aws_cloudwatch_log_group": ("retention_in_days",),
    "aws_dynamodb_table": ("billing_mode", "write_capacity", "read_capacity"),
    "aws_cloudwatch_metric_alarm": ("period",),
}


def _monthly(type_: str, values: Mapping[str, Any] | None, pricing: Pricing) -> Decimal | str:
    return PRICED[type_](values, pricing) if values else Decimal(0)


def _what(type_: str, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None, action: str) -> str:
    if before is None or after is None:
        return "added" if before is None else "removed"
    changed = [
        f"{name} {before.get(name)} -> {after.get(name)}"
        for name in DRIVERS.get(type_, ())
        if before.get(name) != after.get(name)
    ]
    return ", ".join(changed) or action


def cost_change(entry: Mapping[str, Any], pricing: Pricing) -> CostChange | None:
    """The monthly cost change of one plan entry; None when it changes no price."""
    type_, change = entry["type"], entry["change"]
    actions = change["actions"]
    if type_ not in PRICED or actions in (["no-op"], ["read"]):
        return None
    before = change.get("before") if "delete" in actions or "update" in actions else None
    after = change.get("after") if "create" in actions or "update" in actions else None
    what = _what(
        type_, before, after, "replaced" if "delete" in actions and "create" in actions else "updated"
    )
    old, new = _monthly(type_, before, pricing), _monthly(type_, after, pricing)
    if isinstance(old, str) or isinstance(new, str):
        return CostChange(entry["address"], what, None, new if isinstance(new, str) else str(old))
    delta = pricing.prices.to_gbp(new - old)
    if delta == 0 and before is not None and after is not None:
        return None
    return CostChange(entry["address"], what, delta)


def cost_changes(entries: Sequence[Mapping[str, Any]], pricing: Pricing) -> list[CostChange]:
    return [c for c in (cost_change(entry, pricing) for entry in entries) if c is not None]


def total_gbp(changes: Sequence[CostChange]) -> Decimal:
    return sum((c.monthly_gbp for c in changes if c.monthly_gbp is not None), Decimal(0))


def basis(pricing: Pricing) -> str:
    """What the figures assume, in one line."""
    rate = pricing.prices.exchange_rate
    return (
        f"at {pricing.traffic.questions_per_week:,} questions a week ({pricing.traffic.source}), "
        f"{pricing.prices.region} prices before the free tier, $1 = £{rate.usd_to_gbp} ({rate.read})"
    )
