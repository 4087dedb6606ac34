"""Rollups recomputed from the records, the source of truth: for data written before rollups existed, or to
repair them.

Day by day (UTC): every record of the day is read, rolled up in memory exactly as the processor rolls it up
(`contract.rollup`), and the day's rollup items are replaced by the result: items the records do not
produce are deleted, the others written whole. So running it twice gives the same rollups, and a day
rebuilt equals the day written live. A day still receiving records while it is rebuilt may miss those
written meanwhile: rebuild days that are over, or run it again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from contract.rollup import RollupItems, rollup_partition
from reporter.period import ReportWeek
from reporter.store import AnalyticsReader, RollupWriter


@dataclass(frozen=True)
class DayRebuilt:
    day: date
    records: int
    items: int
    deleted: int


def days_of(first: ReportWeek, last: ReportWeek) -> list[date]:
    """Every UTC day that overlaps the weeks from `first` to `last`, both included."""
    start = first.utc_days()[0]
    end = last.utc_days()[-1]
    return [start + timedelta(days=offset) for offset in range((end - start).days + 1)]


def rebuild_day(reader: AnalyticsReader, writer: RollupWriter, day: date, shards: int) -> DayRebuilt:
    rollups = RollupItems()
    records = 0
    for batch in reader.requests([day]):
        rollups.add_all(batch, shards=shards)
        records += len(batch)
    # A record's rollups are on the UTC day of its time, which is the day of its partition.
    mine = (rollup_partition(day, shard) for shard in range(max(shards, 1)))
    deleted = writer.replace(list(mine), rollups.items)
    return DayRebuilt(day, records, len(rollups.items), deleted)


def rebuild(
    reader: AnalyticsReader,
    writer: RollupWriter,
    days: Iterable[date],
    shards: int,
    done: Callable[[DayRebuilt], None] = lambda _: None,
) -> list[DayRebuilt]:
    results = []
    for day in days:
        result = rebuild_day(reader, writer, day, shards)
        done(result)
        results.append(result)
    return results
