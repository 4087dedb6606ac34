"""Day rollups: which local days are due, which must be built again, and what one day's rollup holds. No I/O.

A rollup is the `Figures` of one local day (in the report's time zone) and one write shard, computed from
that day's records once the day is final (`contract.lateness`): a deterministic function of the records,
so building it twice, after a crash or a retry, or again from scratch (`rebuild-rollups`) gives the same
item, and a request is never counted twice. Per local day rather than per UTC day or hour: a local week is
exactly seven local days across both DST changes and in any zone (Asia/Kolkata's half hour included), so
the week's totals are the records' totals with no correction at the edges, and a week is 7 x shards items.

Why built once from the records rather than updated with each record: an update inside the record's
transaction costs 2 write units per KB of the rollup item, so any rollup over 1 KB would more than double a
question's write cost (measured before: +5.5 to +15.4 write units per question); built once a day, the
rollups cost a few write units per day, whatever the traffic.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from contract.keys import day_partition, parse_day_partition
from contract.lateness import ROLLUP_DUE_AFTER_MS
from reporter.figures import WORDING_LISTS, Figures, FiguresCounter, bounded, from_json, to_json
from reporter.period import local_day_bounds_ms, local_days_of_utc_day, utc_days_of_local_day
from reporter.records import Request

# Every distinct wording of a day is kept while there are at most this many per list and shard (the owner's
# real volume keeps all of them: every unanswered question matters); past it, the most asked, and the rest
# is counted as a long tail. The email lists tens of groups and groups the 500 most asked wordings by meaning,
# so a day's 1,000 most asked leave a wide margin; 1,000 wordings of about 150 bytes are 150 KB of JSON.
WORDING_BUDGET = 1_000
# Sources, countries and referrer hosts kept per rollup: far more than the email lists.
NAME_BUDGET = 500
# One item holds at most 400 KB; a part of a compressed rollup stays well under it.
PART_BYTES = 300_000
# How far back the scheduled roll-up looks for a day that was never built (a missed run, an outage).
LOOKBACK_DAYS = 10


@dataclass(frozen=True, slots=True)
class FlaggedRecord:
    """A record in the late-records index: where it is, where the orphan it healed was, and when written."""

    partition: str
    sort_key: str
    recorded_at: int
    replaced_partition: str | None


@dataclass(frozen=True, order=True, slots=True)
class Unit:
    """One local day of one write shard: what a rollup covers."""

    day: date
    shard: int


def is_due(day: date, zone: ZoneInfo, now_ms: int) -> bool:
    """The day has ended long enough ago that every record of it is written or will be flagged late."""
    return local_day_bounds_ms(day, zone)[1] + ROLLUP_DUE_AFTER_MS <= now_ms


def due_days(zone: ZoneInfo, now_ms: int, lookback_days: int = LOOKBACK_DAYS) -> list[date]:
    """The last `lookback_days` local days that are due, oldest first."""
    today = datetime.fromtimestamp(now_ms / 1000, tz=UTC).astimezone(zone).date()
    days = [today - timedelta(days=offset) for offset in range(lookback_days + 1, -1, -1)]
    return [day for day in days if is_due(day, zone, now_ms)][-lookback_days:]


def units_of_partition(partition: str, zone: ZoneInfo) -> list[Unit]:
    """The rollups a record of this day partition may be in: its UTC day overlaps one or two local days."""
    utc_day, shard = parse_day_partition(partition)
    return [Unit(day, shard) for day in local_days_of_utc_day(utc_day, zone)]


def units_of_flagged(flagged: FlaggedRecord, zone: ZoneInfo) -> list[Unit]:
    """The units a late or healed record's write changed: its own day's, and the healed orphan's."""
    units = units_of_partition(flagged.partition, zone)
    if flagged.replaced_partition:
        units += units_of_partition(flagged.replaced_partition, zone)
    return units


def unit_partitions(unit: Unit, zone: ZoneInfo) -> list[str]:
    """The day partitions, in the unit's shard, that hold the records of the unit's local day."""
    return [day_partition(utc_day, unit.shard) for utc_day in utc_days_of_local_day(unit.day, zone)]


def build(records: Iterable[Request], day: date, zone: ZoneInfo) -> Figures:
    """The rollup of one local day from the records of the partitions it overlaps (others are skipped)."""
    start, end = local_day_bounds_ms(day, zone)
    counter = FiguresCounter()
    add = counter.add
    for record in records:
        if start <= record.timestamp < end:
            add(record)
    return bounded(counter.figures, WORDING_BUDGET, NAME_BUDGET)


def encode(figures: Figures) -> list[bytes]:
    """The rollup as compressed JSON, in parts small enough for one item each."""
    blob = zlib.compress(json.dumps(to_json(figures), separators=(",", ":")).encode("utf-8"), 6)
    return [blob[offset : offset + PART_BYTES] for offset in range(0, len(blob), PART_BYTES)] or [blob]


def decode(parts: Iterable[bytes], lists: Iterable[str] = WORDING_LISTS) -> Figures:
    """The figures `encode` wrote, from all of its parts in order, with only the wording `lists` named."""
    return from_json(json.loads(zlib.decompress(b"".join(parts))), lists)


@dataclass(frozen=True)
class ReadingPlan:
    """Which units of a report's days come from their rollups and which from their records.

    A unit is read from its rollup only when its day is due, the rollup exists and no record flagged late
    belongs to it; otherwise from its records, so a report is exact even before (or without) a roll-up.
    """

    from_rollups: frozenset[Unit]
    from_records: frozenset[Unit]

    def partitions(self, zone: ZoneInfo) -> list[str]:
        """The day partitions the record-read units need, each once."""
        return sorted({partition for unit in self.from_records for partition in unit_partitions(unit, zone)})

    def record_days(self, shard: int) -> frozenset[date]:
        """The local days of one shard whose records are read."""
        return frozenset(unit.day for unit in self.from_records if unit.shard == shard)


def reading_plan(  # noqa: PLR0917 - the report's days and what is known about them
    days: Iterable[date],
    shards: int,
    built: Iterable[Unit],
    stale: Iterable[Unit],
    zone: ZoneInfo,
    now_ms: int,
) -> ReadingPlan:
    usable = set(built) - set(stale)
    rollups: set[Unit] = set()
    records: set[Unit] = set()
    for day in days:
        due = is_due(day, zone, now_ms)
        for shard in range(max(shards, 1)):
            unit = Unit(day, shard)
            (rollups if due and unit in usable else records).add(unit)
    return ReadingPlan(frozenset(rollups), frozenset(records))
