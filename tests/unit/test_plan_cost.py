"""The plan review's monthly cost change, against figures computed by hand from the price table."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from cv_analytics.cost.model import DAYS_PER_MONTH, GB, WEEKS_PER_MONTH
from cv_analytics.pricing.prices import load_prices
from terraform.plan_cost import (
    FunctionUse,
    Pricing,
    TableUse,
    Traffic,
    cost_change,
    load_traffic,
    parse_traffic,
    total_gbp,
)
from terraform.plan_report import cost_summary, markdown, pounds
from terraform.plan_review import review_plan

PRICES = load_prices()
RATE = PRICES.exchange_rate.usd_to_gbp
TRAFFIC = Traffic(
    questions_per_week=Decimal(10_000),
    source="a hand-made example",
    functions={
        "processor": FunctionUse(Decimal(1), Decimal(0), Decimal(100), Decimal(1_000)),
        "sweep": FunctionUse(Decimal(0), Decimal(2_880), Decimal(50), Decimal(500)),
    },
    tables={"analytics": TableUse(Decimal(4), Decimal(2))},
)
PRICING = Pricing(PRICES, TRAFFIC)
QUESTIONS_PER_MONTH = Decimal(10_000) * WEEKS_PER_MONTH


def _entry(type_: str, actions: list[str], before: Any, after: Any, address: str = "") -> dict[str, Any]:
    return {
        "address": address or f"{type_}.example",
        "type": type_,
        "mode": "managed",
        "change": {"actions": actions, "before": before, "after": after, "after_unknown": {}},
    }


def _function(memory: int, architecture: str = "arm64") -> dict[str, Any]:
    return {"function_name": "cv-analytics-local-processor", "memory_size": memory,
            "architectures": [architecture]}  # fmt: skip


def test_more_memory_costs_the_extra_gigabyte_seconds_at_the_stated_traffic() -> None:
    change = cost_change(_entry("aws_lambda_function", ["update"], _function(256), _function(512)), PRICING)
    assert change is not None and change.what == "memory_size 256 -> 512"
    # 43,333 invocations a month (52 weeks over 12) x 0.1 s x 0.25 GB more = 1,083 GB-s at $0.0000133334.
    gb_seconds = QUESTIONS_PER_MONTH * Decimal("0.1") * Decimal("0.25")
    assert change.monthly_gbp == gb_seconds * Decimal("0.0000133334") * RATE
    assert round(change.monthly_gbp, 4) == Decimal("0.0110")


def test_a_new_alarm_costs_one_standard_alarm_month_and_a_removed_one_saves_it() -> None:
    added = cost_change(_entry("aws_cloudwatch_metric_alarm", ["create"], None, {"period": 300}), PRICING)
    removed = cost_change(_entry("aws_cloudwatch_metric_alarm", ["delete"], {"period": 300}, None), PRICING)
    assert added is not None and removed is not None
    assert (added.what, added.monthly_gbp) == ("added", Decimal("0.10") * RATE)
    assert (removed.what, removed.monthly_gbp) == ("removed", -Decimal("0.10") * RATE)


def test_longer_log_retention_stores_more_days_of_the_functions_logs() -> None:
    group = {"name": "/aws/lambda/cv-analytics-local-sweep"}
    change = cost_change(
        _entry("aws_cloudwatch_log_group", ["update"], group | {"retention_in_days": 1},
               group | {"retention_in_days": 31}),
        PRICING,
    )  # fmt: skip
    assert change is not None and change.what == "retention_in_days 1 -> 31"
    ingested_gb = Decimal(2_880 * 500) / GB
    thirty_more_days = ingested_gb * 30 / DAYS_PER_MONTH
    assert change.monthly_gbp == pytest.approx(
        thirty_more_days * Decimal("0.03") * RATE, rel=Decimal("1e-20")
    )


def test_an_on_demand_table_costs_its_units_and_provisioned_capacity_its_hours() -> None:
    table = {"name": "cv-analytics-local-analytics", "billing_mode": "PAY_PER_REQUEST"}
    on_demand = cost_change(_entry("aws_dynamodb_table", ["create"], None, table), PRICING)
    assert on_demand is not None
    writes, reads = QUESTIONS_PER_MONTH * 4, QUESTIONS_PER_MONTH * 2
    assert on_demand.monthly_gbp == (writes * Decimal("0.625") + reads * Decimal("0.125")) / 1_000_000 * RATE
    provisioned = table | {"billing_mode": "PROVISIONED", "write_capacity": 5, "read_capacity": 5}
    switched = cost_change(_entry("aws_dynamodb_table", ["update"], table, provisioned), PRICING)
    assert switched is not None and switched.what.startswith("billing_mode PAY_PER_REQUEST -> PROVISIONED")
    expected = (5 * Decimal("0.47") + 5 * Decimal("0.09")) * RATE - on_demand.monthly_gbp
    assert switched.monthly_gbp == pytest.approx(expected, rel=Decimal("1e-20"))


def test_what_cannot_be_priced_says_why_instead_of_a_figure() -> None:
    x86 = cost_change(
        _entry("aws_lambda_function", ["update"], _function(256), _function(256, "x86_64")), PRICING
    )
    assert x86 is not None and x86.monthly_gbp is None and "arm64" in x86.why
    stranger = {"function_name": "cv-analytics-local-other", "memory_size": 128, "architectures": ["arm64"]}
    unknown = cost_change(_entry("aws_lambda_function", ["create"], None, stranger), PRICING)
    assert unknown is not None and unknown.monthly_gbp is None
    assert unknown.why == "no stated traffic for cv-analytics-local-other in review_traffic.toml"
    forever = {"name": "/aws/lambda/cv-analytics-local-processor", "retention_in_days": 0}
    kept = cost_change(_entry("aws_cloudwatch_log_group", ["create"], None, forever), PRICING)
    assert kept is not None and kept.why == "logs kept forever: their storage grows every month"


def test_free_resources_and_unpriced_attributes_add_no_line() -> None:
    role = _entry("aws_iam_role", ["create"], None, {"name": "r"})
    timeout = _entry("aws_lambda_function", ["update"], _function(256), _function(256) | {"timeout": 30})
    assert cost_change(role, PRICING) is None
    assert cost_change(timeout, PRICING) is None


def test_the_review_states_its_total_and_what_it_assumes() -> None:
    memory = _entry(
        "aws_lambda_function", ["update"], _function(256), _function(512), "aws_lambda_function.p"
    )
    fast_alarm = _entry("aws_cloudwatch_metric_alarm", ["create"], None, {"period": 10}, "alarm.x")
    plan = {"format_version": "1.2", "resource_changes": [memory, fast_alarm]}
    review = review_plan("processor-local", plan, PRICING)
    assert [c.monthly_gbp is None for c in review.costs] == [False, True]
    line = cost_summary([review], PRICING)
    assert line == (
        f"Monthly cost change: {pounds(total_gbp(review.costs))}; 1 change unpriced, at 10,000 questions a "
        f"week (a hand-made example), eu-west-2 prices before the free tier, $1 = £{RATE} "
        f"({PRICES.exchange_rate.read})."
    )
    assert "- **processor-local**: `aws_lambda_function.p` (memory_size 256 -> 512): +£0.011" in markdown(
        [review]
    )


@pytest.mark.parametrize(
    ("amount", "shown"),
    [(Decimal("0.0110"), "+£0.011"), (Decimal("-1.5"), "-£1.50"), (Decimal(0), "+£0.00"),
     (Decimal("1234.567"), "+£1,234.57"), (Decimal("0.0000213"), "+£0.000021"), (Decimal("0.25"), "+£0.25"),
     (Decimal("0.0004"), "+£0.0004")],
)  # fmt: skip
def test_pounds_are_signed_and_pence_are_kept_under_a_pound(amount: Decimal, shown: str) -> None:
    assert pounds(amount) == shown


def test_the_repositorys_traffic_file_loads_and_a_bad_one_is_named() -> None:
    traffic = load_traffic()
    assert traffic.questions_per_week > 0 and {"processor", "reporter"} <= set(traffic.functions)
    with pytest.raises(
        ValueError, match=r"functions.processor: mean_duration_ms must be a number of at least 0"
    ):
        parse_traffic({"questions_per_week": 1, "source": "s", "functions": {"processor": {
            "invocations_per_question": 1, "invocations_per_month": 0, "mean_duration_ms": -1,
            "log_bytes_per_invocation": 0}}})  # fmt: skip
    with pytest.raises(ValueError, match="source must say where"):
        parse_traffic({"questions_per_week": 1})
