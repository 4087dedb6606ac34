"""The price table (`prices.toml` beside this module), loaded into typed, checked entries.

A monthly AWS cost is only as honest as the figures behind it, so every price carries its unit, the page it
was read from, the day it was read and which region's figure it is; the free tier is kept apart from the
prices, because a cost "with the free tier" and one without are both wanted (an account past its first 12
months loses the 12-month allowances, not the always-free ones). Amounts are `Decimal`: a price of
$0.0000133334 per GB-second multiplied by millions must not drift in binary floating point.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, cast

FreeTierKind = Literal["always-free", "12-month"]
_FREE_TIER_KINDS: tuple[FreeTierKind, ...] = ("always-free", "12-month")


class PriceTableError(ValueError):
    """The price table is malformed, or a price it does not have was asked for."""


@dataclass(frozen=True)
class Price:
    """One AWS price: `usd` dollars for every `per` units of `unit`."""

    key: str
    service: str
    description: str
    usd: Decimal
    per: int
    unit: str
    source: str
    read: date
    figure_region: str
    note: str

    @property
    def usd_per_unit(self) -> Decimal:
        return self.usd / self.per

    def cost_usd(self, quantity: Decimal | int) -> Decimal:
        """What `quantity` units cost, ignoring any free allowance."""
        return Decimal(quantity) * self.usd_per_unit


@dataclass(frozen=True)
class FreeAllowance:
    """A monthly free allowance, in the unit of the price it offsets."""

    key: str
    price: str
    allowance: Decimal
    kind: FreeTierKind
    source: str
    read: date
    note: str


@dataclass(frozen=True)
class ExchangeRate:
    usd_to_gbp: Decimal
    source: str
    read: date
    note: str


@dataclass(frozen=True)
class PriceTable:
    region: str
    prices: Mapping[str, Price]
    free_tier: Mapping[str, FreeAllowance]
    exchange_rate: ExchangeRate

    def price(self, key: str) -> Price:
        try:
            return self.prices[key]
        except KeyError:
            known = ", ".join(sorted(self.prices))
            raise PriceTableError(f"no price {key!r} in the price table; it has: {known}") from None

    def free_allowance(self, price_key: str, *, twelve_month: bool = True) -> Decimal:
        """The monthly free units for a price; `twelve_month=False` leaves out allowances that expire."""
        self.price(price_key)
        return sum(
            (
                entry.allowance
                for entry in self.free_tier.values()
                if entry.price == price_key and (twelve_month or entry.kind == "always-free")
            ),
            Decimal(0),
        )

    def monthly_cost_usd(
        self, price_key: str, quantity: Decimal | int, *, free_tier: bool, twelve_month: bool = True
    ) -> Decimal:
        """The month's charge for `quantity` units, after the free allowance when `free_tier` is true."""
        price = self.price(price_key)
        billable = Decimal(quantity)
        if free_tier:
            billable = max(Decimal(0), billable - self.free_allowance(price_key, twelve_month=twelve_month))
        return price.cost_usd(billable)

    def monthly_cost_gbp(
        self, price_key: str, quantity: Decimal | int, *, free_tier: bool, twelve_month: bool = True
    ) -> Decimal:
        return self.to_gbp(
            self.monthly_cost_usd(price_key, quantity, free_tier=free_tier, twelve_month=twelve_month)
        )

    def to_gbp(self, usd: Decimal) -> Decimal:
        return usd * self.exchange_rate.usd_to_gbp


def default_price_file() -> Path:
    return Path(str(resources.files("cv_analytics.pricing").joinpath("prices.toml")))


@cache
def load_prices(path: Path | None = None) -> PriceTable:
    """Read and check the price table (the repository's own unless `path` names another)."""
    file = path or default_price_file()
    try:
        document = tomllib.loads(file.read_text(encoding="utf-8"), parse_float=Decimal)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise PriceTableError(f"{file}: cannot read the price table: {error}") from error
    return parse_prices(document, origin=str(file))


def parse_prices(document: Mapping[str, Any], *, origin: str = "price table") -> PriceTable:
    """Build a `PriceTable` from the parsed TOML, refusing an entry that lacks a unit, source or date."""
    region = _text(document, "region", origin)
    rate_entry = _table(document, "exchange_rate", origin)
    rate = ExchangeRate(
        usd_to_gbp=_amount(rate_entry, "usd_to_gbp", f"{origin}: exchange_rate"),
        source=_text(rate_entry, "source", f"{origin}: exchange_rate"),
        read=_date(rate_entry, "read", f"{origin}: exchange_rate"),
        note=str(rate_entry.get("note", "")),
    )
    prices = {
        key: _price(key, _as_table(entry, f"{origin}: prices.{key}"), f"{origin}: prices.{key}")
        for key, entry in _table(document, "prices", origin).items()
    }
    free_tier = {
        key: _allowance(key, _as_table(entry, f"{origin}: free_tier.{key}"), f"{origin}: free_tier.{key}")
        for key, entry in _table(document, "free_tier", origin).items()
    }
    for key, allowance in free_tier.items():
        if allowance.price not in prices:
            raise PriceTableError(f"{origin}: free_tier.{key} offsets unknown price {allowance.price!r}")
    return PriceTable(region=region, prices=prices, free_tier=free_tier, exchange_rate=rate)


def _price(key: str, entry: Mapping[str, Any], where: str) -> Price:
    per = entry.get("per", 1)
    if not isinstance(per, int) or isinstance(per, bool) or per <= 0:
        raise PriceTableError(f"{where}: per must be a positive whole number, got {per!r}")
    return Price(
        key=key,
        service=_text(entry, "service", where),
        description=_text(entry, "description", where),
        usd=_amount(entry, "usd", where),
        per=per,
        unit=_text(entry, "unit", where),
        source=_text(entry, "source", where),
        read=_date(entry, "read", where),
        figure_region=_text(entry, "figure_region", where),
        note=str(entry.get("note", "")),
    )


def _allowance(key: str, entry: Mapping[str, Any], where: str) -> FreeAllowance:
    kind = _text(entry, "kind", where)
    if kind not in _FREE_TIER_KINDS:
        raise PriceTableError(f"{where}: kind must be one of {', '.join(_FREE_TIER_KINDS)}, got {kind!r}")
    return FreeAllowance(
        key=key,
        price=_text(entry, "price", where),
        allowance=_amount(entry, "allowance", where),
        kind=kind,
        source=_text(entry, "source", where),
        read=_date(entry, "read", where),
        note=str(entry.get("note", "")),
    )


def _as_table(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise PriceTableError(f"{where}: must be a table")
    return cast(Mapping[str, Any], value)


def _table(document: Mapping[str, Any], name: str, where: str) -> Mapping[str, Any]:
    if name not in document:
        raise PriceTableError(f"{where}: missing [{name}]")
    return _as_table(document[name], f"{where}: {name}")


def _text(entry: Mapping[str, Any], name: str, where: str) -> str:
    value = entry.get(name)
    if not isinstance(value, str) or not value.strip():
        raise PriceTableError(f"{where}: {name} must be a non-empty string")
    return value


def _amount(entry: Mapping[str, Any], name: str, where: str) -> Decimal:
    value = entry.get(name)
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise PriceTableError(f"{where}: {name} must be a number, got {value!r}")
    amount = Decimal(value)
    if amount < 0:
        raise PriceTableError(f"{where}: {name} must not be negative, got {amount}")
    return amount


def _date(entry: Mapping[str, Any], name: str, where: str) -> date:
    value = entry.get(name)
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise PriceTableError(f"{where}: {name} must be a date (YYYY-MM-DD), got {value!r}") from None
