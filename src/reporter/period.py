"""The report week: an ISO week, Monday 00:00 to Sunday 24:00 in the owner's time zone.

Records are partitioned by UTC day, and a local week never lines up with UTC days (London is UTC+1 in summer;
other zones are further off), so a week overlaps parts of eight UTC days: the reader queries all of them and
keeps the records whose timestamp falls inside the week's bounds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEK_FORMAT = "YYYY-Www, e.g. 2026-W47 (ISO year, then W and the week number 01 to 53)"
_WEEK_PATTERN = re.compile(r"^(\d{4})-W(\d{2})$")


class WeekError(ValueError):
    """A week string that is not an ISO week; the message names the expected format."""


@dataclass(frozen=True, order=True)
class ReportWeek:
    """One ISO week (`2026-W47`) seen from one time zone."""

    year: int
    number: int
    zone: ZoneInfo

    @classmethod
    def parse(cls, text: str, zone: ZoneInfo) -> ReportWeek:
        match = _WEEK_PATTERN.match(text.strip())
        if match is None:
            raise WeekError(f"{text!r} is not an ISO week: expected {WEEK_FORMAT}")
        year, number = int(match.group(1)), int(match.group(2))
        try:
            date.fromisocalendar(year, number, 1)
        except ValueError as error:
            raise WeekError(f"{text!r} does not exist: {year} has no week {number:02d}") from error
        return cls(year, number, zone)

    @classmethod
    def containing(cls, moment: datetime, zone: ZoneInfo) -> ReportWeek:
        """The week in which `moment` (an aware datetime) falls, in `zone`."""
        iso = moment.astimezone(zone).isocalendar()
        return cls(iso.year, iso.week, zone)

    @classmethod
    def previous_to(cls, moment: datetime, zone: ZoneInfo) -> ReportWeek:
        """The last complete week before `moment`: what a Monday-morning run reports on."""
        return cls.containing(moment, zone).previous()

    def __str__(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    @property
    def days(self) -> list[date]:
        """The seven local days, Monday first."""
        return [self.monday + timedelta(days=offset) for offset in range(7)]

    def previous(self) -> ReportWeek:
        iso = (self.monday - timedelta(days=7)).isocalendar()
        return ReportWeek(iso.year, iso.week, self.zone)

    def _local_midnight(self, day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=self.zone)

    @property
    def start(self) -> datetime:
        """Monday 00:00 local time."""
        return self._local_midnight(self.monday)

    @property
    def end(self) -> datetime:
        """The next Monday 00:00 local time (exclusive), so a 23- or 25-hour day is counted right."""
        return self._local_midnight(self.monday + timedelta(days=7))

    @property
    def start_ms(self) -> int:
        return int(self.start.timestamp() * 1000)

    @property
    def end_ms(self) -> int:
        return int(self.end.timestamp() * 1000)

    def contains_ms(self, epoch_ms: int) -> bool:
        return self.start_ms <= epoch_ms < self.end_ms

    def utc_days(self) -> list[date]:
        """Every UTC day that overlaps the week: the day partitions to query."""
        first = self.start.astimezone(UTC).date()
        last = (self.end - timedelta(milliseconds=1)).astimezone(UTC).date()
        return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]

    def day_bounds_ms(self) -> list[int]:
        """Local midnights, Tuesday to Sunday: `bisect_right` on them gives a timestamp's day, 0 to 6."""
        return [int(self._local_midnight(day).timestamp() * 1000) for day in self.days[1:]]

    def label(self) -> str:
        """`16 Nov - 22 Nov 2026` (with an en dash), how a person names the week."""
        sunday = self.monday + timedelta(days=6)
        first = self.monday.strftime("%-d %b") + (
            "" if self.monday.year == sunday.year else f" {self.monday.year}"
        )
        return f"{first} \u2013 {sunday.strftime('%-d %b %Y')}"


def wall_clock_ms() -> int:
    """The wall clock in epoch milliseconds, the unit every record's time is in."""
    return int(datetime.now(UTC).timestamp() * 1000)


def local_day_bounds_ms(day: date, zone: ZoneInfo) -> tuple[int, int]:
    """Local midnight to the next local midnight, epoch ms: 23, 24 or 25 hours across a DST change."""
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def utc_days_of_local_day(day: date, zone: ZoneInfo) -> list[date]:
    """The UTC days a local day overlaps: one or two (three is impossible: no zone is 24 h off UTC)."""
    start_ms, end_ms = local_day_bounds_ms(day, zone)
    first = datetime.fromtimestamp(start_ms / 1000, tz=UTC).date()
    last = datetime.fromtimestamp((end_ms - 1) / 1000, tz=UTC).date()
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def local_days_of_utc_day(day: date, zone: ZoneInfo) -> list[date]:
    """The local days a UTC day overlaps: one or two."""
    start = datetime.combine(day, time(0), tzinfo=UTC)
    first = start.astimezone(zone).date()
    last = (start + timedelta(days=1) - timedelta(milliseconds=1)).astimezone(zone).date()
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
