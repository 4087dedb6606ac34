"""The repository's price table loads, every figure has its provenance, and costs follow from it."""

from __future__ import annotations

import tomllib
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from cv_analytics.pricing.prices import PriceTableError, default_price_file, load_prices, parse_prices

# What the infrastructure review and the cost model price; removing one breaks them.
EXPECTED_PRICES = {
    "cloudwatch_alarm_standard",
    "cloudwatch_custom_metric",
    "logs_ingestion",
    "logs_storage",
    "kms_key",
    "kms_requests",
    "lambda_arm_duration",
    "lambda_requests",
    "dynamodb_write_request_units",
    "dynamodb_read_request_units",
    "dynamodb_storage",
    "dynamodb_provisioned_wcu",
    "dynamodb_provisioned_rcu",
    "sqs_fifo_requests",
    "ses_emails",
    "scheduler_invocations",
    "s3_standard_storage",
}


def _document() -> dict[str, Any]:
    return tomllib.loads(default_price_file().read_text(encoding="utf-8"), parse_float=Decimal)


def test_the_repository_table_has_every_price_with_its_source_date_and_unit() -> None:
    table = load_prices()
    assert table.region == "eu-west-2"
    assert set(table.prices) >= EXPECTED_PRICES
    for price in table.prices.values():
        assert price.source.startswith("https://"), price.key
        assert price.read <= date(2026, 12, 1), price.key
        assert price.unit and price.usd > 0, price.key
        if price.figure_region != "eu-west-2":  # a figure from elsewhere must say why it was used
            assert "eu-west-2" in price.note or price.figure_region == "all", price.key
    for allowance in table.free_tier.values():
        assert allowance.price in table.prices
        assert allowance.source.startswith("https://")
    assert Decimal("0.5") < table.exchange_rate.usd_to_gbp < Decimal("1")


def test_a_monthly_cost_takes_the_free_allowance_off_first_hand_computed() -> None:
    table = load_prices()
    # 500,000 GB-seconds on arm64: 400,000 are free, 100,000 x $0.0000133334 = $1.33334.
    assert table.monthly_cost_usd("lambda_arm_duration", 500_000, free_tier=False) == Decimal("6.6667")
    assert table.monthly_cost_usd("lambda_arm_duration", 500_000, free_tier=True) == Decimal("1.33334")
    assert table.monthly_cost_gbp("lambda_arm_duration", 500_000, free_tier=True) == Decimal(
        "1.33334"
    ) * Decimal("0.7604")
    # Under the allowance costs nothing, never less than nothing.
    assert table.monthly_cost_usd("sqs_fifo_requests", 999_999, free_tier=True) == 0
    # 2,000,000 write request units at $0.625 a million, which have no free allowance on demand.
    assert table.monthly_cost_usd("dynamodb_write_request_units", 2_000_000, free_tier=True) == Decimal(
        "1.25"
    )


def test_a_twelve_month_allowance_can_be_left_out_for_an_older_account() -> None:
    table = load_prices()
    # 4,000 emails: 3,000 free in the first year only, at $0.10 per 1,000.
    assert table.monthly_cost_usd("ses_emails", 4000, free_tier=True) == Decimal("0.1")
    assert table.monthly_cost_usd("ses_emails", 4000, free_tier=True, twelve_month=False) == Decimal("0.4")


def test_an_entry_without_its_source_is_refused_in_one_line() -> None:
    document = _document()
    del document["prices"]["kms_key"]["source"]
    with pytest.raises(PriceTableError, match=r"prices\.kms_key: source must be a non-empty string"):
        parse_prices(document)


def test_a_free_allowance_for_a_price_that_does_not_exist_is_refused() -> None:
    document = _document()
    document["free_tier"]["kms_requests"]["price"] = "kms_request"
    with pytest.raises(PriceTableError, match="offsets unknown price 'kms_request'"):
        parse_prices(document)


def test_asking_for_an_unknown_price_names_the_ones_there_are() -> None:
    with pytest.raises(PriceTableError, match="no price 'lambda' in the price table; it has: cloudwatch"):
        load_prices().price("lambda")
