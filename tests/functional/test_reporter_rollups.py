"""The report from rollups is the report from records; rebuild-rollups is the scheduled roll-up; a late
record is counted before and after its day is built again. DynamoDB in moto (in process)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

import pytest
from moto import mock_aws
from typer.testing import CliRunner

from contract.config import load_settings
from contract.tables import LATE_BUCKET, AnalyticsItem
from cv_analytics.cli import app
from processor.repository import Repository
from processor.service import Correlator, Message
from reporter import service
from reporter.figures import to_json
from reporter.period import ReportWeek
from reporter.roll_up import RollUp
from reporter.rollup_store import RollupStore
from reporter.rollups import Unit
from reporter.settings import ReporterSettings
from reporter.store import AnalyticsReader
from tests.support.reporter_tables import create_tables, put_requests
from tests.support.reporter_week import LONDON, WEEK, at, grouper, random_week

SUMMER = ReportWeek.parse("2026-W27", LONDON)  # 29 June to 5 July 2026, BST: eight UTC days
SHARDS = 2
DAY_MS = 86_400_000


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[ReporterSettings]:
    monkeypatch.setenv("ANALYTICS_WRITE_SHARDS", str(SHARDS))
    monkeypatch.setenv("REPORT_TIMEZONE", "Europe/London")
    with mock_aws():
        configured = load_settings(ReporterSettings)
        AnalyticsReader(configured)  # binds the models to the configured tables
        create_tables()
        yield configured


def _weeks_days(week: ReportWeek) -> list[date]:
    days: list[date] = []
    for _ in range(8):
        days[:0] = week.days
        week = week.previous()
    return days


def _stored(settings: ReporterSettings, week: ReportWeek) -> dict[Unit, dict[str, object]]:
    built = RollupStore(settings.report_timezone).read(week.days[0], week.days[-1])
    return {unit: to_json(rollup.figures()) for unit, rollup in built.items()}


@pytest.mark.parametrize("week", [pytest.param(WEEK, id="winter"), pytest.param(SUMMER, id="summer")])
def test_the_report_from_rollups_equals_the_report_from_records(
    settings: ReporterSettings, week: ReportWeek
) -> None:
    put_requests(random_week(150, seed=3, week=week), shards=SHARDS)
    put_requests(random_week(100, seed=4, week=week.previous()), shards=SHARDS)
    put_requests(random_week(50, seed=5, week=week.previous().previous()), shards=SHARDS)
    now = week.end_ms + DAY_MS
    reader, store = AnalyticsReader(settings), RollupStore(settings.report_timezone)
    from_records = service.collect(reader, week, settings, grouper(), rollups=store, now_ms=now)

    roll_up = RollUp(settings, clock=lambda: now)
    result = roll_up.build(roll_up.rebuild_units(_weeks_days(week)[-21:]))  # the three weeks with records
    assert len(result.built) == 3 * 7 * SHARDS and result.requests == 300
    from_rollups = service.collect(reader, week, settings, grouper(), rollups=store, now_ms=now)

    assert from_rollups == from_records
    assert from_rollups.totals.requests == 150
    assert [headline.requests for headline in from_rollups.history][-3:] == [50, 100, 150]


def test_rebuild_rollups_writes_what_the_scheduled_roll_up_wrote(settings: ReporterSettings) -> None:
    put_requests(random_week(120, seed=8), shards=SHARDS)
    RollUp(settings, clock=lambda: WEEK.end_ms + 3 * 3_600_000, lookback_days=7).run()
    scheduled = _stored(settings, WEEK)
    assert len(scheduled) == 7 * SHARDS
    assert sum(figures["counts"]["requests"] for figures in scheduled.values()) == 120  # type: ignore[index]

    result = CliRunner().invoke(app, ["report", "rebuild-rollups", "--from", str(WEEK), "--to", str(WEEK)])
    assert result.exit_code == 0, result.output
    assert f"rebuilt 14 rollups (7 days x {SHARDS} shards) from 120 records" in result.output
    assert _stored(settings, WEEK) == scheduled


def test_rebuild_rollups_names_a_wrong_range(settings: ReporterSettings) -> None:
    result = CliRunner().invoke(
        app, ["report", "rebuild-rollups", "--from", "2026-W47", "--to", "2026-W40"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 2
    assert "--to 2026-W40 is before --from 2026-W47: give the earlier week first" in result.output


def _query(request_id: str, timestamp: int) -> str:
    return json.dumps({"eventType": "query", "requestId": request_id, "timestamp": timestamp,
                       "sessionId": "s1", "query": "What is her notice period?"})  # fmt: skip


def _response(request_id: str, timestamp: int) -> str:
    return json.dumps({"eventType": "response", "requestId": request_id, "timestamp": timestamp + 900,
                       "sessionId": "s1", "matchType": "none", "matchScore": 12,
                       "reasoning": "r"})  # fmt: skip


def _deliver(request_id: str, asked: int, clock: int) -> None:
    correlator = Correlator(Repository(interim_ttl_seconds=86_400), shards=SHARDS, clock=lambda: clock)
    batch = [
        Message(f"{request_id}-q", _query(request_id, asked), "s1", None),
        Message(f"{request_id}-r", _response(request_id, asked), "s1", None),
    ]
    correlator.begin_batch(batch)
    for message in batch:
        correlator.process(message)


def test_a_record_written_after_its_day_was_rolled_up_is_counted_before_and_after_the_next_roll_up(
    settings: ReporterSettings,
) -> None:
    tuesday = at(1, 10)
    _deliver("on-time", tuesday, clock=tuesday + 60_000)
    rolled = WEEK.end_ms + 3 * 3_600_000
    first = RollUp(settings, clock=lambda: rolled).run()
    assert first.requests == 1 and first.flagged == 0

    _deliver("late", tuesday + 5_000, clock=rolled + 60_000)  # a redriven batch, days later
    (flagged,) = AnalyticsItem.late_index.query(LATE_BUCKET)
    reader, store = AnalyticsReader(settings), RollupStore(settings.report_timezone)
    before = service.collect(reader, WEEK, settings, grouper(), rollups=store, now_ms=rolled + 120_000)
    assert before.totals.requests == 2  # its day is read from the records until it is built again
    assert before.unanswered[0].count == 2

    second = RollUp(settings, clock=lambda: rolled + 3_600_000).run()
    assert second.flagged == 1 and second.cleared == 1
    assert [unit.day for unit in second.built] == [WEEK.days[1]]
    assert list(AnalyticsItem.late_index.query(LATE_BUCKET)) == []
    after = service.collect(reader, WEEK, settings, grouper(), rollups=store, now_ms=rolled + 7_200_000)
    assert after == before
    assert sum(figures["counts"]["requests"] for figures in _stored(settings, WEEK).values()) == 2  # type: ignore[index]
    assert flagged.sk == "REQUEST#late"
