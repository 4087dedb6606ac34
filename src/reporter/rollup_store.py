"""Reading and writing day rollups and the late-records index: every DynamoDB call of the roll-up.

Rollups of one time zone live in one partition (`contract.keys.rollup_partition`), sorted by day, so the
rollups of a report's eight weeks are one Query over a range of sort keys, a few pages at most. A build is
one PutItem, or one transaction writing all its parts and deleting those of the build it replaces: a reader
sees the old build or the new one, never a mix.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from pynamodb.exceptions import UpdateError
from pynamodb.transactions import TransactWrite

from contract.dynamodb import condition_failed, connection_of
from contract.keys import parse_rollup_sort_key, rollup_partition, rollup_sort_key
from contract.tables import LATE_BUCKET, AnalyticsItem, DayRollup, RequestRecord
from reporter.figures import WORDING_LISTS, Figures
from reporter.rollups import FlaggedRecord, Unit, decode, encode

# Enough for a year of days x shards and the flags of a bad day; what is left waits for the next run.
LATE_PAGE = 1_000


@dataclass(frozen=True, slots=True)
class StoredRollup:
    """One complete build of a unit's rollup, before decoding."""

    generation: int
    parts: tuple[bytes, ...]

    def figures(self, lists: Iterable[str] = WORDING_LISTS) -> Figures:
        return decode(self.parts, lists)


def _last_key(day: date) -> str:
    return f"{day.isoformat()}#~"


def _builds(items: list[DayRollup]) -> dict[Unit, list[DayRollup]]:
    """The newest complete build of each unit among these items, its parts in order."""
    by_build: dict[tuple[Unit, int], dict[int, DayRollup]] = defaultdict(dict)
    for item in items:
        day, shard, part = parse_rollup_sort_key(item.sk)
        by_build[(Unit(day, shard), int(item.generation))][part] = item
    builds: dict[Unit, list[DayRollup]] = {}
    for (unit, _), parts in sorted(by_build.items(), key=lambda entry: entry[0][1]):
        expected = int(next(iter(parts.values())).parts)
        if sorted(parts) == list(range(expected)):
            builds[unit] = [parts[index] for index in range(expected)]
    return builds


class RollupStore:
    """Rollups of one time zone, and the records flagged late, in the Analytics table."""

    def __init__(self, zone: str) -> None:
        self.zone = zone
        self.partition = rollup_partition(zone)

    def _items(self, first: date, last: date, attributes: list[str] | None = None) -> list[DayRollup]:
        return list(
            DayRollup.query(
                self.partition,
                DayRollup.sk.between(first.isoformat(), _last_key(last)),
                attributes_to_get=attributes,
            )
        )

    def read(self, first: date, last: date) -> dict[Unit, StoredRollup]:
        """Every unit of these local days (inclusive) that has a complete rollup."""
        return {
            unit: StoredRollup(int(parts[0].generation), tuple(bytes(item.body) for item in parts))
            for unit, parts in _builds(self._items(first, last)).items()
        }

    def built(self, first: date, last: date) -> set[Unit]:
        """The units of these days that have a rollup, read without the bodies."""
        return set(_builds(self._items(first, last, ["sk", "generation", "parts"])))

    def write(self, unit: Unit, figures: Figures, generation: int) -> int:
        """Replace the unit's rollup by this build; returns how many parts it has.

        One part and nothing of an older build to delete is one PutItem (atomic, and half the write units of
        a transaction); otherwise the new parts and the deletion of the old ones are one transaction.
        """
        parts = encode(figures)
        items = [
            DayRollup(
                self.partition,
                rollup_sort_key(unit.day, unit.shard, index),
                zone=self.zone,
                day=unit.day.isoformat(),
                shard=unit.shard,
                part=index,
                parts=len(parts),
                generation=generation,
                requests=figures.requests,
                body=body,
            )
            for index, body in enumerate(parts)
        ]
        new_keys = {item.sk for item in items}
        stale = [
            item.sk
            for item in self._items(unit.day, unit.day, ["sk", "generation"])
            if parse_rollup_sort_key(item.sk)[1] == unit.shard and item.sk not in new_keys
        ]
        if len(items) == 1 and not stale:
            items[0].save()
            return 1
        with TransactWrite(connection=connection_of(AnalyticsItem)) as transaction:
            for item in items:
                transaction.save(item)
            for sort_key in stale:
                transaction.delete(DayRollup(self.partition, sort_key))
        return len(parts)

    def flagged(self, limit: int = LATE_PAGE) -> list[FlaggedRecord]:
        """Records in the late-records index, with what the index carries of them (no read of the record)."""
        return [
            FlaggedRecord(item.pk, item.sk, int(item.recorded_at), item.replaced_partition)
            for item in AnalyticsItem.late_index.query(LATE_BUCKET, limit=limit)
            if isinstance(item, RequestRecord)
        ]

    def clear(self, flagged: FlaggedRecord) -> bool:
        """Take a counted record out of the index, unless it was written again since it was read."""
        try:
            RequestRecord(flagged.partition, flagged.sort_key).update(
                actions=[RequestRecord.late_bucket.remove()],
                condition=RequestRecord.recorded_at == flagged.recorded_at,
            )
        except UpdateError as error:
            if condition_failed(error):
                return False
            raise
        return True
