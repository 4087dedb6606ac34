"""Which of the replayed week's days the demo's one roll-up run may build, on the wall clock it runs on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cv_analytics.local.demo import days_due
from reporter.period import ReportWeek

LONDON = ZoneInfo("Europe/London")
DUE_AFTER = timedelta(hours=2, minutes=15)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@pytest.mark.parametrize(
    ("week", "sunday_end"),
    [
        ("2026-W47", datetime(2026, 11, 23, 0, 0, tzinfo=UTC)),  # GMT all week
        ("2026-W43", datetime(2026, 10, 26, 0, 0, tzinfo=UTC)),  # Sunday 25 October has 25 hours
        ("2026-W13", datetime(2026, 3, 29, 23, 0, tzinfo=UTC)),  # Sunday 29 March has 23 hours
    ],
)
def test_the_sunday_is_due_2_h_15_min_after_the_local_week_ends(week: str, sunday_end: datetime) -> None:
    replayed = ReportWeek.parse(week, LONDON)
    assert days_due(replayed, _ms(sunday_end + DUE_AFTER)) == 7
    assert days_due(replayed, _ms(sunday_end + DUE_AFTER) - 1) == 6


def test_each_day_becomes_due_in_turn_and_none_before_the_monday_is() -> None:
    week = ReportWeek.parse("2026-W47", LONDON)
    assert days_due(week, week.start_ms) == 0
    monday_end = datetime(2026, 11, 17, 0, 0, tzinfo=LONDON)
    assert days_due(week, _ms(monday_end + DUE_AFTER) - 1) == 0
    assert days_due(week, _ms(monday_end + DUE_AFTER)) == 1
    assert days_due(week, _ms(monday_end + timedelta(days=3) + DUE_AFTER)) == 4
