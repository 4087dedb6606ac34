"""Which week an invocation reports, and what a malformed invocation is told."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from contract.config import load_settings
from reporter.handler import _flag, week_of_event
from reporter.period import WeekError
from reporter.settings import ReporterSettings

SETTINGS = load_settings(ReporterSettings, {})
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # a Thursday in 2026-W48


def test_an_explicit_week_wins() -> None:
    assert str(week_of_event({"week": "2026-W40"}, SETTINGS, NOW)) == "2026-W40"


def test_a_scheduled_event_reports_the_week_before_its_own_time_not_the_clock() -> None:
    event = {"detail-type": "Scheduled Event", "time": "2026-11-23T09:00:00Z"}
    assert str(week_of_event(event, SETTINGS, NOW)) == "2026-W47"


def test_an_empty_event_reports_last_week() -> None:
    assert str(week_of_event({}, SETTINGS, NOW)) == "2026-W47"


def test_a_malformed_week_or_flag_is_refused_with_what_is_expected() -> None:
    with pytest.raises(WeekError, match="expected YYYY-Www"):
        week_of_event({"week": "47"}, SETTINGS, NOW)
    with pytest.raises(WeekError, match="dryRun must be true or false, not 'yes'"):
        _flag({"dryRun": "yes"}, "dryRun")
