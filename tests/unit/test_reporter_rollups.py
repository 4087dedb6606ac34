"""Day rollups: local days make weeks exactly, across both DST changes; when a day is due; what is read."""

from __future__ import annotations

import random
from datetime import date
from zoneinfo import ZoneInfo

import pytest

from contract.lateness import ROLLUP_DUE_AFTER_MS
from reporter import rollups
from reporter.aggregation import WeekAggregator
from reporter.figures import count, to_json
from reporter.period import ReportWeek, local_day_bounds_ms, utc_days_of_local_day
from reporter.records import Request
from reporter.rollups import FlaggedRecord, Unit, build, decode, encode, reading_plan, units_of_flagged

LONDON = ZoneInfo("Europe/London")
KOLKATA = ZoneInfo("Asia/Kolkata")
HOUR_MS = 3_600_000


def _records_around(week: ReportWeek, count_: int, seed: int) -> list[Request]:
    """Records spread over the week and a day either side, many within an hour of a local midnight."""
    rng = random.Random(seed)
    start, end = week.start_ms - 86_400_000, week.end_ms + 86_400_000
    midnights = [local_day_bounds_ms(day, week.zone)[0] for day in week.days] + [week.end_ms]
    records = []
    for index in range(count_):
        near = rng.choice(midnights) + rng.randrange(-HOUR_MS, HOUR_MS)
        timestamp = near if index % 2 else rng.randrange(start, end)
        records.append(
            Request(
                f"r{index}",
                rng.choice(["complete", "query_only"]),
                timestamp,
                session_id=f"s{rng.randrange(40)}",
                question=rng.choice(["Notice period?", "Does she speak French?", "Go?"]),
                match_type=rng.choice(["full", "partial", "none"]),
                match_score=round(rng.uniform(0, 100), 2),
                latency_ms=rng.uniform(100, 5000),
            )
        )
    return records


@pytest.mark.parametrize(
    ("week_text", "zone", "hours"),
    [
        pytest.param("2026-W13", LONDON, 167, id="london-spring-forward"),
        pytest.param("2026-W43", LONDON, 169, id="london-fall-back"),
        pytest.param("2026-W27", LONDON, 168, id="london-summer"),
        pytest.param("2026-W47", KOLKATA, 168, id="kolkata-half-hour"),
    ],
)
def test_a_week_merged_from_its_seven_day_rollups_equals_the_week_counted_from_its_records(
    week_text: str, zone: ZoneInfo, hours: int
) -> None:
    week = ReportWeek.parse(week_text, zone)
    assert (week.end_ms - week.start_ms) // HOUR_MS == hours
    records = _records_around(week, 3_000, seed=hours)
    from_records = WeekAggregator(week).add_all(records)
    from_rollups = WeekAggregator(week)
    for day in week.days:
        from_rollups.add_day(day, decode(encode(build(records, day, zone))))
    assert from_rollups.totals() == from_records.totals()
    assert to_json(from_rollups.figures) == to_json(from_records.figures)
    assert from_rollups.day_requests == from_records.day_requests
    assert from_rollups.day_unanswered == from_records.day_unanswered
    assert from_records.figures.requests == sum(week.start_ms <= r.timestamp < week.end_ms for r in records)


def test_a_summer_day_in_london_spans_two_utc_days_and_a_winter_one_one() -> None:
    assert utc_days_of_local_day(date(2026, 7, 1), LONDON) == [date(2026, 6, 30), date(2026, 7, 1)]
    assert utc_days_of_local_day(date(2026, 12, 1), LONDON) == [date(2026, 12, 1)]
    assert rollups.units_of_partition("DAY#2026-07-01#1", LONDON) == [
        Unit(date(2026, 7, 1), 1),
        Unit(date(2026, 7, 2), 1),
    ]


def test_a_day_is_due_two_hours_and_a_quarter_after_its_local_midnight() -> None:
    day = date(2026, 11, 23)
    end = local_day_bounds_ms(day, LONDON)[1]
    assert ROLLUP_DUE_AFTER_MS == (2 * 60 + 15) * 60_000
    assert not rollups.is_due(day, LONDON, end + ROLLUP_DUE_AFTER_MS - 1)
    assert rollups.is_due(day, LONDON, end + ROLLUP_DUE_AFTER_MS)
    due = rollups.due_days(LONDON, end + ROLLUP_DUE_AFTER_MS, lookback_days=3)
    assert due == [date(2026, 11, 21), date(2026, 11, 22), date(2026, 11, 23)]


def test_a_healed_record_makes_its_own_day_and_its_orphans_day_stale() -> None:
    flagged = FlaggedRecord("DAY#2026-11-24", "REQUEST#r", 1, replaced_partition="DAY#2026-11-23#1")
    assert units_of_flagged(flagged, LONDON) == [Unit(date(2026, 11, 24), 0), Unit(date(2026, 11, 23), 1)]


def test_only_a_due_complete_and_current_rollup_is_read_instead_of_the_records() -> None:
    days = [date(2026, 11, 22), date(2026, 11, 23), date(2026, 11, 24)]
    now = local_day_bounds_ms(date(2026, 11, 23), LONDON)[1] + ROLLUP_DUE_AFTER_MS
    built = {Unit(date(2026, 11, 22), 0), Unit(date(2026, 11, 22), 1), Unit(date(2026, 11, 23), 0)}
    stale = [Unit(date(2026, 11, 22), 1)]
    plan = reading_plan(days, 2, built, stale, LONDON, now)
    assert plan.from_rollups == {Unit(date(2026, 11, 22), 0), Unit(date(2026, 11, 23), 0)}
    assert plan.record_days(1) == {date(2026, 11, 22), date(2026, 11, 23), date(2026, 11, 24)}
    assert plan.record_days(0) == {date(2026, 11, 24)}  # not due yet: read from its records
    assert plan.partitions(LONDON) == [
        "DAY#2026-11-22#1",
        "DAY#2026-11-23#1",
        "DAY#2026-11-24",
        "DAY#2026-11-24#1",
    ]


def test_a_rollup_too_big_for_one_item_is_split_and_read_back_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rollups, "PART_BYTES", 1_000)
    rng = random.Random(3)
    records = [
        Request(str(n), "complete", n, question=f"{rng.random()} question", match_type="none")
        for n in range(500)
    ]
    figures = count(records)
    parts = encode(figures)
    assert len(parts) > 5 and all(len(part) <= 1_000 for part in parts)
    assert to_json(decode(parts)) == to_json(figures)
