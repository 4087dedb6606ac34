"""Building day rollups: the scheduled run (due days never built, days of records flagged late) and the
rebuild of a range of weeks. Shared by the Lambda handler and `cv-analytics report rebuild-rollups`.

Each unit (local day x write shard) is built whole from its records and written at once, so a
run that dies half-way leaves every unit either as it was or rebuilt; the next run starts again from what
is missing. A late record's flag is removed only after every due unit it belongs to was rebuilt from a
read that included it, and only if the record was not written again since.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from reporter.period import wall_clock_ms
from reporter.records import Request
from reporter.rollup_store import RollupStore
from reporter.rollups import LOOKBACK_DAYS, Unit, build, due_days, is_due, unit_partitions, units_of_flagged
from reporter.settings import ReporterSettings
from reporter.store import AnalyticsReader

logger = logging.getLogger(__name__)

# Stop starting units when less than this share of the slowest unit's time is left before the deadline.
SAFETY_FACTOR = 1.5


@dataclass
class RollUpResult:
    """What one run built and cleared, and what it left for the next run (out of time)."""

    built: list[Unit] = field(default_factory=list)
    requests: int = 0
    flagged: int = 0
    cleared: int = 0
    remaining: int = 0


class RollUp:
    """Builds rollups for one time zone from the records; `reader` and `store` are the data-access layer."""

    def __init__(
        self,
        settings: ReporterSettings,
        *,
        reader: AnalyticsReader | None = None,
        store: RollupStore | None = None,
        clock: Callable[[], int] = wall_clock_ms,
        lookback_days: int = LOOKBACK_DAYS,
    ) -> None:
        self.settings = settings
        self.lookback_days = lookback_days
        self.zone: ZoneInfo = settings.zone
        self.shards = max(settings.analytics_write_shards, 1)
        self.reader = reader or AnalyticsReader(settings)
        self.store = store or RollupStore(settings.report_timezone)
        self.clock = clock

    def units(self, days: Iterable[date]) -> list[Unit]:
        return [Unit(day, shard) for day in days for shard in range(self.shards)]

    def build(
        self,
        units: list[Unit],
        *,
        deadline_ms: int | None = None,
        progress: Callable[[Unit, int], None] | None = None,
    ) -> RollUpResult:
        """Build and write these units, oldest first, until done or too close to `deadline_ms`.

        Records of one UTC partition serve the two local days it overlaps: the last partitions read are
        kept until the next unit no longer needs them.
        """
        result = RollUpResult()
        ordered = sorted(set(units), key=lambda unit: (unit.shard, unit.day))
        cache: dict[str, list[Request]] = {}
        slowest_ms = 0
        for index, unit in enumerate(ordered):
            started = self.clock()
            if deadline_ms is not None and started + slowest_ms * SAFETY_FACTOR > deadline_ms:
                result.remaining = len(ordered) - index
                break
            partitions = unit_partitions(unit, self.zone)
            missing = [partition for partition in partitions if partition not in cache]
            cache = {partition: cache[partition] for partition in partitions if partition in cache}
            for partition, records in self.reader.partition_requests(missing, consistent=True):
                cache[partition] = records
            figures = build(
                (record for partition in partitions for record in cache[partition]), unit.day, self.zone
            )
            self.store.write(unit, figures, generation=self.clock())
            result.built.append(unit)
            result.requests += figures.requests
            slowest_ms = max(slowest_ms, self.clock() - started)
            if progress is not None:
                progress(unit, figures.requests)
        return result

    def run(self, *, deadline_ms: int | None = None) -> RollUpResult:
        """The scheduled step: every due day of the last LOOKBACK_DAYS without a rollup, and every due day a
        late or healed record changed; then the flags of the records those builds counted are removed."""
        now_ms = self.clock()
        days = due_days(self.zone, now_ms, self.lookback_days)
        missing = set(self.units(days)) - self.store.built(days[0], days[-1]) if days else set()
        flagged = self.store.flagged()
        units_of_flag = {
            each: [unit for unit in units_of_flagged(each, self.zone) if is_due(unit.day, self.zone, now_ms)]
            for each in flagged
        }
        wanted = missing.union(*units_of_flag.values())
        result = self.build(sorted(wanted), deadline_ms=deadline_ms)
        result.flagged = len(flagged)
        done = set(result.built)
        for each, units in units_of_flag.items():
            if all(unit in done for unit in units) and self.store.clear(each):
                result.cleared += 1
        logger.info(
            "rollups built",
            extra={
                "built": len(result.built),
                "requests": result.requests,
                "flagged": result.flagged,
                "cleared": result.cleared,
                "remaining": result.remaining,
            },
        )
        return result

    def rebuild_units(self, days: Iterable[date]) -> list[Unit]:
        """The units of these days that are due: what `rebuild-rollups` builds (a day not over yet is not)."""
        now_ms = self.clock()
        return self.units(day for day in days if is_due(day, self.zone, now_ms))
