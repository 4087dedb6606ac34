"""The report week: Monday 00:00 to Sunday 24:00 local time, as UTC bounds and UTC day partitions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from reporter.period import ReportWeek, WeekError

LONDON = ZoneInfo("Europe/London")


def test_parses_an_iso_week_and_prints_it_back() -> None:
    week = ReportWeek.parse("2026-W47", LONDON)
    assert str(week) == "2026-W47"
    assert week.monday == date(2026, 11, 16)
    assert week.days[-1] == date(2026, 11, 22)


@pytest.mark.parametrize("text", ["2026-47", "2026W47", "W47", "2026-w47", "2026-W7", "last week", ""])
def test_a_malformed_week_names_the_expected_format(text: str) -> None:
    with pytest.raises(WeekError, match=r"expected YYYY-Www, e\.g\. 2026-W47"):
        ReportWeek.parse(text, LONDON)


def test_a_week_number_the_year_does_not_have_is_refused() -> None:
    assert str(ReportWeek.parse("2026-W53", LONDON)) == "2026-W53"  # 2026 has 53 ISO weeks
    with pytest.raises(WeekError, match="2025 has no week 53"):
        ReportWeek.parse("2025-W53", LONDON)
    with pytest.raises(WeekError, match="has no week 00"):
        ReportWeek.parse("2026-W00", LONDON)


def test_monday_morning_reports_the_week_that_just_ended() -> None:
    monday_nine = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert str(ReportWeek.previous_to(monday_nine, LONDON)) == "2026-W47"


def test_the_previous_week_crosses_the_year() -> None:
    assert str(ReportWeek.parse("2027-W01", LONDON).previous()) == "2026-W53"


def test_a_winter_week_in_london_is_seven_utc_days() -> None:
    week = ReportWeek.parse("2026-W47", LONDON)
    assert week.start == datetime(2026, 11, 16, tzinfo=UTC)
    assert week.end - week.start == timedelta(days=7)
    assert week.utc_days() == [date(2026, 11, 16) + timedelta(days=n) for n in range(7)]


def test_a_summer_week_in_london_starts_on_sunday_evening_utc_and_spans_eight_utc_days() -> None:
    week = ReportWeek.parse("2026-W27", LONDON)  # 29 June to 5 July 2026, BST
    assert week.start.astimezone(UTC) == datetime(2026, 6, 28, 23, 0, tzinfo=UTC)
    assert week.utc_days() == [date(2026, 6, 28) + timedelta(days=n) for n in range(8)]
    sunday_late = int(datetime(2026, 7, 5, 23, 30, tzinfo=LONDON).timestamp() * 1000)
    monday_early = int(datetime(2026, 7, 6, 0, 30, tzinfo=LONDON).timestamp() * 1000)
    assert week.contains_ms(sunday_late)
    assert not week.contains_ms(monday_early)


def test_the_week_the_clocks_go_forward_is_an_hour_short() -> None:
    week = ReportWeek.parse("2026-W13", LONDON)  # clocks change on Sunday 29 March 2026
    assert week.end_ms - week.start_ms == (7 * 24 - 1) * 3_600_000


def test_a_zone_far_from_utc_shifts_the_partitions() -> None:
    week = ReportWeek.parse("2026-W47", ZoneInfo("Pacific/Auckland"))  # UTC+13 in November
    assert week.utc_days()[0] == date(2026, 11, 15)
    assert len(week.utc_days()) == 8


def test_day_bounds_split_the_week_at_local_midnight() -> None:
    week = ReportWeek.parse("2026-W27", LONDON)
    bounds = week.day_bounds_ms()
    assert len(bounds) == 6
    assert bounds[0] == int(datetime(2026, 6, 30, tzinfo=LONDON).timestamp() * 1000)


def test_label_names_the_dates() -> None:
    assert ReportWeek.parse("2026-W47", LONDON).label() == "16 Nov \u2013 22 Nov 2026"
    assert ReportWeek.parse("2026-W53", LONDON).label() == "28 Dec 2026 \u2013 3 Jan 2027"
