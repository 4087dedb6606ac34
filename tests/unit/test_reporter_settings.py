"""The reporter's settings are refused at load when SES would refuse them on Monday."""

from __future__ import annotations

import pytest

from contract.config import SettingsError, load_settings
from reporter.settings import MAX_RECIPIENTS, ReporterSettings


def load(**variables: str) -> ReporterSettings:
    return load_settings(ReporterSettings, variables)


def test_well_formed_addresses_and_prices_load() -> None:
    settings = load(
        REPORT_SENDER="reports@example.com",
        REPORT_RECIPIENTS="owner@example.com, second.reader+cv@mail.example.org",
        REPORT_MODEL_PRICES="m=0:0,n=0.2:1.5",
    )
    assert settings.report_recipients == ("owner@example.com", "second.reader+cv@mail.example.org")
    assert set(settings.model_prices()) == {"m", "n"}


INJECTION = "owner@example.com\r\nBcc: everyone@example.com"
NOT_FINITE = "has a price that is not a finite number"


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"REPORT_RECIPIENTS": INJECTION},
         f"REPORT_RECIPIENTS entry {INJECTION!r} holds a line break (CR or LF)"),
        ({"REPORT_RECIPIENTS": "owner@example.com,not-an-address"},
         "REPORT_RECIPIENTS entry 'not-an-address' is not an e-mail address"),
        ({"REPORT_RECIPIENTS": ",".join(f"r{n}@example.com" for n in range(MAX_RECIPIENTS + 10))},
         f"REPORT_RECIPIENTS lists {MAX_RECIPIENTS + 10} addresses: SES sends one message to at most 50"),
        ({"REPORT_SENDER": "Reports <reports@example.com>"},
         "REPORT_SENDER='Reports <reports@example.com>' is not an e-mail address"),
        ({"REPORT_SENDER": "reports@example.com\n"},
         "REPORT_SENDER='reports@example.com\\n' holds a line break (CR or LF)"),
        ({"REPORT_MODEL_PRICES": "m=nan:1"}, f"REPORT_MODEL_PRICES entry 'm=nan:1' {NOT_FINITE}"),
        ({"REPORT_MODEL_PRICES": "m=1:inf"}, f"REPORT_MODEL_PRICES entry 'm=1:inf' {NOT_FINITE}"),
        ({"REPORT_MODEL_PRICES": "m=-1:1"}, "REPORT_MODEL_PRICES entry 'm=-1:1' has a negative price"),
        ({"REPORT_TIMEZONE": "Asia/Kolkata"},
         "REPORT_TIMEZONE='Asia/Kolkata' is not a whole number of hours from UTC"),
    ],
)  # fmt: skip
def test_a_setting_ses_would_refuse_is_refused_at_load_with_its_variable(
    variables: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        load(**variables)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value) and "\r" not in str(caught.value)
    assert caught.value.variable == next(iter(variables))
