"""Which week an invocation reports, and what a malformed invocation is told."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from contract.config import SettingsError, load_settings
from reporter.handler import _flag, week_of_event
from reporter.period import WeekError
from reporter.settings import ReporterSettings

SETTINGS = load_settings(ReporterSettings, {})
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # a Thursday in 2026-W48


def test_an_explicit_week_wins() -> None:
    assert str(week_of_event({"week": "2026-W40"}, SETTINGS, NOW)) == "2026-W40"


def test_the_schedules_input_reports_the_week_before_its_scheduled_time_not_the_clock() -> None:
    # Exactly what the schedule target's input {"time": "<aws.scheduler.scheduled-time>"} delivers.
    event = {"time": "2026-11-23T09:00:00Z"}
    a_week_later = datetime(2026, 12, 1, 0, 30, tzinfo=UTC)  # a retry long after: still 2026-W47
    assert str(week_of_event(event, SETTINGS, a_week_later)) == "2026-W47"
    # Monday 00:30 British Summer Time is still Sunday in UTC: the week is taken in the report's zone.
    assert str(week_of_event({"time": "2026-07-05T23:30:00Z"}, SETTINGS, NOW)) == "2026-W27"
    assert str(week_of_event({"time": "2026-11-23T00:30:00"}, SETTINGS, NOW)) == "2026-W47"  # naive is UTC


def test_a_malformed_scheduled_time_names_the_expected_format() -> None:
    for value in ("last monday", 1_795_000_000, None):
        with pytest.raises(WeekError, match="ISO 8601 timestamp such as 2026-11-23T09:00:00Z"):
            week_of_event({"time": value}, SETTINGS, NOW)


def test_an_empty_event_reports_last_week() -> None:
    assert str(week_of_event({}, SETTINGS, NOW)) == "2026-W47"


def test_a_malformed_week_or_flag_is_refused_with_what_is_expected() -> None:
    with pytest.raises(WeekError, match="expected YYYY-Www"):
        week_of_event({"week": "47"}, SETTINGS, NOW)
    with pytest.raises(WeekError, match="dryRun must be true or false, not 'yes'"):
        _flag({"dryRun": "yes"}, "dryRun")


def test_a_bad_setting_is_one_structured_log_line_from_the_lambda(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from reporter import handler
    from tests.support.processor import context

    monkeypatch.setenv("REPORT_RECIPIENTS", "owner@example.com\r\nBcc: everyone@example.com")
    with pytest.raises(SettingsError):
        handler.handle({}, context("reporter"))
    (record,) = [record for record in caplog.records if record.name == handler.logger.name]
    line = handler.logger.registered_formatter.format(record)  # the JSON line Powertools writes
    assert "\n" not in line
    logged = json.loads(line)
    assert (logged["level"], logged["message"], logged["variable"]) == (
        "ERROR",
        "the reporter's settings are invalid; nothing was sent",
        "REPORT_RECIPIENTS",
    )
    assert logged["error"].startswith(
        "REPORT_RECIPIENTS entry 'owner@example.com\\r\\nBcc: everyone@example.com' holds a line break"
    )
    assert "exception" not in logged
