"""EventBridge Scheduler's expressions and target input, for the local runs of the deployed schedules.

`next_fire(expression, timezone, after)` is when a `rate(...)` or `cron(...)` schedule fires next after a
moment, evaluated in the schedule's time zone as Scheduler does (so `cron(0 9 ? * MON *)` in
Europe/London is 09:00 London time in summer and in winter). `target_input` fills the context attributes
Scheduler substitutes in a target's input. Plain Python, no AWS.

Supported cron fields: numbers, `*`, `?`, lists, ranges, `/` steps and the month and weekday names; the
`L`, `W` and `#` forms are refused with a clear error rather than evaluated wrongly.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

MONTHS = {
    name: index
    for index, name in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1
    )
}
# Scheduler's day-of-week: 1 is Sunday, 7 is Saturday.
WEEKDAYS = {name: index for index, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], 1)}
RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
CRON = re.compile(r"^cron\((.+)\)$")
SEARCH_LIMIT = timedelta(days=366 * 5)


class ScheduleError(ValueError):
    pass


def _field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int]:
    if text in ("*", "?"):
        return frozenset(range(low, high + 1))
    if any(mark in text for mark in ("L", "W", "#")) and not (names and text.upper() in names):
        raise ScheduleError(f"cron field {text!r}: L, W and # are not supported locally")
    values: set[int] = set()
    for part in text.split(","):
        base, _, step = part.partition("/")
        if base in ("*", ""):
            start, end = low, high
        elif "-" in base:
            first, last = base.split("-", 1)
            start, end = _value(first, names), _value(last, names)
        else:
            start = _value(base, names)
            end = high if step else start
        values.update(range(start, end + 1, int(step) if step else 1))
    if not values or min(values) < low or max(values) > high:
        raise ScheduleError(f"cron field {text!r} is outside {low}-{high}")
    return frozenset(values)


def _value(text: str, names: dict[str, int] | None) -> int:
    if names and text.upper() in names:
        return names[text.upper()]
    if not text.isdigit():
        raise ScheduleError(f"cron value {text!r} is not a number")
    return int(text)


def next_fire(expression: str, timezone: str, after: datetime) -> datetime:
    """The first time after `after` (aware) that the schedule fires, in UTC."""
    zone = ZoneInfo(timezone)
    rate = RATE.match(expression)
    if rate:
        amount, unit = int(rate.group(1)), rate.group(2).rstrip("s")
        return (after + timedelta(**{f"{unit}s": amount})).astimezone(UTC)
    cron = CRON.match(expression)
    if not cron:
        raise ScheduleError(f"{expression!r} is neither rate(...) nor cron(...)")
    fields = cron.group(1).split()
    if len(fields) != 6:
        raise ScheduleError(f"{expression!r}: cron takes six fields (minute hour day month weekday year)")
    minutes, hours = _field(fields[0], 0, 59), _field(fields[1], 0, 23)
    days, months = _field(fields[2], 1, 31), _field(fields[3], 1, 12, MONTHS)
    weekdays, years = _field(fields[4], 1, 7, WEEKDAYS), _field(fields[5], 1970, 2199)
    moment = after.astimezone(zone).replace(second=0, microsecond=0) + timedelta(minutes=1)
    limit = moment + SEARCH_LIMIT
    while moment < limit:
        weekday = (moment.isoweekday() % 7) + 1  # Monday 1 -> 2, Sunday 7 -> 1
        if (
            moment.year in years
            and moment.month in months
            and moment.day in days
            and weekday in weekdays
            and moment.hour in hours
            and moment.minute in minutes
        ):
            return moment.astimezone(UTC)
        moment += timedelta(minutes=1)
    raise ScheduleError(f"{expression!r} does not fire within five years of {after.isoformat()}")


def target_input(
    template: str | None, *, scheduled_time: datetime, schedule_arn: str, attempt: int = 1
) -> str:
    """The target's input as Scheduler delivers it: `{}` without one, context attributes filled in."""
    if template is None:
        return "{}"
    values = {
        "<aws.scheduler.scheduled-time>": scheduled_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "<aws.scheduler.schedule-arn>": schedule_arn,
        "<aws.scheduler.execution-id>": str(uuid.uuid4()),
        "<aws.scheduler.attempt-number>": str(attempt),
    }
    for attribute, value in values.items():
        template = template.replace(attribute, value)
    return template
