"""Everything the reporter reads from its environment; the infrastructure sets exactly these variables."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from contract.addresses import address_problem
from contract.config import FunctionSettings, SettingsError, setting

# SES sends one message to at most 50 recipients (To, Cc and Bcc together).
MAX_RECIPIENTS = 50

# Prices per million tokens (input:output) in the default currency, GBP. Workers AI's list prices in USD
# converted at 0.79; they change, so check them and set REPORT_MODEL_PRICES rather than trust these.
DEFAULT_MODEL_PRICES = (
    "@cf/meta/llama-3.1-8b-instruct=0.22:0.65",
    "@cf/meta/llama-3.1-8b-instruct-fast=0.036:0.30",
    "@cf/meta/llama-3.3-70b-instruct-fp8-fast=0.23:1.78",
)


@dataclass(frozen=True)
class ModelPrice:
    """What a million tokens of one model cost, in the report's currency."""

    input_per_million: float
    output_per_million: float


def whole_hours(zone: ZoneInfo) -> bool:
    """Whether every offset of `zone` from UTC, from 2000 to 2040, is a whole number of hours: then every
    local midnight is the start of a UTC hour, and a local week an exact union of hourly rollups."""
    moments = (datetime(year, month, 1, tzinfo=UTC) for year in range(2000, 2041) for month in (1, 4, 7, 10))
    return all(
        (offset := moment.astimezone(zone).utcoffset()) is not None
        and offset % timedelta(hours=1) == timedelta(0)
        for moment in moments
    )


@dataclass(frozen=True)
class ReporterSettings(FunctionSettings):
    report_timezone: str = setting(
        "REPORT_TIMEZONE", "Europe/London", help="IANA time zone in which a report week runs Monday to Sunday"
    )
    report_sender: str = setting("REPORT_SENDER", "", help="verified SES identity the report is sent from")
    report_recipients: tuple[str, ...] = setting(
        "REPORT_RECIPIENTS", (), help="comma-separated addresses the report is sent to"
    )
    dlq_url: str = setting("DLQ_URL", "", help="URL of the dead-letter queue whose depth the report shows")
    report_currency: str = setting(
        "REPORT_CURRENCY", "GBP", help="ISO 4217 code of the currency REPORT_MODEL_PRICES are in"
    )
    report_model_prices: tuple[str, ...] = setting(
        "REPORT_MODEL_PRICES",
        DEFAULT_MODEL_PRICES,
        help="comma-separated model=input:output prices per million tokens, "
        "e.g. @cf/meta/llama-3.1-8b-instruct=0.22:0.65",
    )
    report_claim_seconds: int = setting(
        "REPORT_CLAIM_SECONDS",
        60,
        help="how long one attempt owns a week's report before a retry may take over: the Lambda timeout",
    )
    service_name: str = setting(
        "POWERTOOLS_SERVICE_NAME", "cv-analytics-reporter", help="service name in logs and metrics"
    )

    def validate(self) -> None:
        super().validate()
        try:
            zone = ZoneInfo(self.report_timezone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise SettingsError(
                f"REPORT_TIMEZONE={self.report_timezone!r} is not an IANA time zone: use e.g. Europe/London"
            ) from error
        if not whole_hours(zone):
            raise SettingsError(
                f"REPORT_TIMEZONE={self.report_timezone!r} is not a whole number of hours from UTC: the "
                "report's rollups are per UTC hour, so its weeks can start only at a whole hour; use a zone "
                "such as Europe/London"
            )
        if len(self.report_currency) != 3 or not self.report_currency.isalpha():
            raise SettingsError(
                f"REPORT_CURRENCY={self.report_currency!r} is not a currency code: use e.g. GBP"
            )
        if self.report_claim_seconds < 1:
            raise SettingsError(f"REPORT_CLAIM_SECONDS={self.report_claim_seconds} must be 1 or more")
        self._check_addresses()
        self.model_prices()

    def _check_addresses(self) -> None:
        """Sender and recipients as SES takes them: a header injection or a typo fails here, not on Monday."""
        problem = address_problem(self.report_sender) if self.report_sender else None
        if problem:
            raise SettingsError(
                f"REPORT_SENDER={self.report_sender!r} {problem}: give the verified SES address to send "
                "from, such as reports@example.com"
            )
        for entry in self.report_recipients:
            problem = address_problem(entry)
            if problem:
                raise SettingsError(
                    f"REPORT_RECIPIENTS entry {entry!r} {problem}: give comma-separated addresses such as "
                    "owner@example.com"
                )
        if len(self.report_recipients) > MAX_RECIPIENTS:
            raise SettingsError(
                f"REPORT_RECIPIENTS lists {len(self.report_recipients)} addresses: SES sends one message to "
                f"at most {MAX_RECIPIENTS}"
            )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.report_timezone)

    def model_prices(self) -> dict[str, ModelPrice]:
        """The price table, keyed by model name; raises SettingsError naming the entry that does not parse."""
        prices: dict[str, ModelPrice] = {}
        for entry in self.report_model_prices:
            model, separator, pair = entry.rpartition("=")
            input_text, colon, output_text = pair.partition(":")
            try:
                if not (separator and colon and model.strip()):
                    raise ValueError(entry)
                price = ModelPrice(float(input_text), float(output_text))
            except ValueError as error:
                raise SettingsError(
                    f"REPORT_MODEL_PRICES entry {entry!r} is not model=input:output "
                    "(prices per million tokens, e.g. @cf/meta/llama-3.1-8b-instruct=0.22:0.65)"
                ) from error
            if not (math.isfinite(price.input_per_million) and math.isfinite(price.output_per_million)):
                raise SettingsError(
                    f"REPORT_MODEL_PRICES entry {entry!r} has a price that is not a finite number: give "
                    "prices per million tokens such as 0.22:0.65"
                )
            if price.input_per_million < 0 or price.output_per_million < 0:
                raise SettingsError(f"REPORT_MODEL_PRICES entry {entry!r} has a negative price")
            prices[model.strip()] = price
        return prices
