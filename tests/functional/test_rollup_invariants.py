"""The rollups' promise, for any traffic: property-based, against DynamoDB in moto (in process).

The processor's scenarios (any halves delivered in any order and batching, duplicated, redelivered, sweeps at
any moment, the function dying once before or after any write), with roll-ups run at any moments in between,
each after a day and more has passed (so the days are due, and every record written after it is late, or
healed late). After a last sweep and a last roll-up: every unit with records has a rollup, each rollup
equals the figures counted from its records as they are now, and no record is left flagged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contract.config import load_settings
from contract.lateness import ROLLUP_DUE_AFTER_MS
from contract.tables import LATE_BUCKET, AnalyticsItem
from processor.repository import Repository
from processor.settings import ProcessorSettings
from reporter.figures import to_json
from reporter.roll_up import RollUp
from reporter.rollup_store import RollupStore
from reporter.rollups import Unit, build, unit_partitions, units_of_partition
from reporter.settings import ReporterSettings
from reporter.store import AnalyticsReader
from tests.functional.test_processor_invariants import START, CrashingStore, Scenario, run, scenarios
from tests.support.processor import all_records, empty_tables

DAY_MS = 86_400_000
SHARDS = 2  # as the processor's scenarios write


@dataclass
class Clock:
    """The processor's and the roll-up's clock: a millisecond per reading, and jumps when days pass."""

    now: int

    def __call__(self) -> int:
        self.now += 1
        return self.now

    def pass_days(self) -> None:
        self.now += DAY_MS + ROLLUP_DUE_AFTER_MS


def _rollup_settings(zone: str) -> ReporterSettings:
    return load_settings(ReporterSettings, {"REPORT_TIMEZONE": zone, "ANALYTICS_WRITE_SHARDS": str(SHARDS)})


def _counted(unit: Unit, settings: ReporterSettings) -> dict[str, object]:
    """The unit's figures counted straight from its records as they are in the table now."""
    partitions = unit_partitions(unit, settings.zone)
    records = [
        record
        for _, batch in AnalyticsReader(settings).partition_requests(partitions, consistent=True)
        for record in batch
    ]
    return to_json(build(records, unit.day, settings.zone))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    scenario=scenarios(),
    roll_ups=st.lists(st.integers(min_value=0, max_value=12), max_size=3),
    zone=st.sampled_from(["Europe/London", "Asia/Kolkata", "America/New_York"]),
)
def test_rollups_equal_the_records_whatever_the_delivery_and_whenever_they_run(
    tables: ProcessorSettings, scenario: Scenario, roll_ups: list[int], zone: str
) -> None:
    empty_tables()
    settings = _rollup_settings(zone)
    clock = Clock(START + 60_000)

    def roll_up() -> None:
        clock.pass_days()
        RollUp(settings, clock=clock, lookback_days=2).run()

    steps = list(scenario.steps)
    for position in sorted(roll_ups, reverse=True):
        steps.insert(min(position, len(steps)), roll_up)
    delivered = Scenario(scenario.halves, steps, scenario.poison_ids, scenario.crash_at, scenario.after_write)
    store = CrashingStore(Repository(interim_ttl_seconds=86_400), scenario.crash_at, scenario.after_write)
    run(delivered, store, clock)
    roll_up()

    records = all_records()
    units = {unit for record in records for unit in units_of_partition(record.pk, settings.zone)}
    stored = RollupStore(zone).read(date(2025, 11, 20), date(2025, 12, 5))
    for unit in units:
        counted = _counted(unit, settings)
        if counted["counts"]["requests"]:  # type: ignore[index]
            assert unit in stored, unit
            assert to_json(stored[unit].figures()) == counted, unit
    for unit, rollup in stored.items():  # a rollup of a day whose records all moved away counts nothing
        if unit not in units:
            assert rollup.figures().requests == 0
    assert not [record for record in records if record.late_bucket == LATE_BUCKET]
    assert list(AnalyticsItem.late_index.query(LATE_BUCKET)) == []
