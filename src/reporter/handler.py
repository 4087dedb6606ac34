"""Lambda entry point: the weekly schedule, or a hand-made invocation.

Events it accepts:
- `{"time": "2026-11-23T09:00:00Z"}` from the weekly EventBridge Scheduler schedule, whose target input is
  `{"time": "<aws.scheduler.scheduled-time>"}` (the Scheduler sends nothing of its own): reports the week
  before that scheduled time, not the clock's, so a retry that runs after midnight still reports the same
  week;
- `{"week": "2026-W47", "dryRun": true, "force": false}` by hand: a given week; `dryRun` renders without
  sending or touching the marker; `force` sends again a week that was already sent or is in doubt;
- `{}`: the week before now.

`roll_up` is the hourly roll-up's entry point (its schedule sends no input): it builds the rollups of due
days not yet built and of days a late record changed, stopping before the invocation's time runs out.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit

from contract.config import SettingsError, load_settings
from reporter import service
from reporter.period import ReportWeek, WeekError
from reporter.roll_up import RollUp
from reporter.settings import ReporterSettings
from reporter.status import ReportStatus


def _startup_settings() -> ReporterSettings:
    """What the logger and metrics need at a cold start; a bad setting is reported by `handle`, in the log."""
    try:
        return load_settings(ReporterSettings)
    except SettingsError:
        return ReporterSettings()


_STARTUP = _startup_settings()
logger = Logger(service=_STARTUP.service_name, level=_STARTUP.log_level)
copy_config_to_registered_loggers(source_logger=logger, include={"reporter"})
metrics = Metrics(namespace=_STARTUP.metrics_namespace, service=_STARTUP.service_name)

_METRIC_OF_STATUS = {
    ReportStatus.SENT: "ReportSent",
    ReportStatus.ALREADY_SENT: "ReportAlreadySent",
    ReportStatus.REJECTED: "ReportRejected",
    ReportStatus.IN_DOUBT: "ReportInDoubt",
    ReportStatus.DRY_RUN: "ReportPreviewed",
}


def _flag(event: dict[str, Any], name: str) -> bool:
    value = event.get(name, False)
    if not isinstance(value, bool):
        raise WeekError(f"{name} must be true or false, not {value!r}")
    return value


def week_of_event(event: dict[str, Any], settings: ReporterSettings, now: datetime) -> ReportWeek:
    """The week an invocation asks for: explicit `week`, else the week before the event's time or now."""
    if "week" in event:
        return ReportWeek.parse(str(event["week"]), settings.zone)
    moment = now if "time" not in event else scheduled_time(event["time"])
    return ReportWeek.previous_to(moment, settings.zone)


def scheduled_time(value: object) -> datetime:
    """The schedule's `<aws.scheduler.scheduled-time>`: ISO 8601 in UTC, such as 2026-11-23T09:00:00Z."""
    try:
        if not isinstance(value, str):
            raise TypeError(value)
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError) as error:
        raise WeekError(
            f"time must be an ISO 8601 timestamp such as 2026-11-23T09:00:00Z, not {value!r}"
        ) from error
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@metrics.log_metrics
def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        settings = load_settings(ReporterSettings)
    except SettingsError as error:
        # One structured line saying which variable and why; raised again (without its traceback in our log)
        # so the invocation counts as an error and the reporter's error alarm fires.
        logger.error(
            "the reporter's settings are invalid; nothing was sent", variable=error.variable, error=str(error)
        )
        raise
    week = week_of_event(event, settings, datetime.now(UTC))
    logger.append_keys(week=str(week))
    outcome = service.run(settings, week, dry_run=_flag(event, "dryRun"), force=_flag(event, "force"))
    metrics.add_metric(name=_METRIC_OF_STATUS[outcome.status], unit=MetricUnit.Count, value=1)
    if outcome.message_bytes is not None:
        metrics.add_metric(name="ReportBytes", unit=MetricUnit.Bytes, value=outcome.message_bytes)
    logger.info("report finished", extra={"status": outcome.status, "message_id": outcome.message_id})
    return asdict(outcome)


# Left for the last write of a unit and the log line when the roll-up stops early.
ROLL_UP_RESERVE_MS = 10_000


@metrics.log_metrics
def roll_up(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        settings = load_settings(ReporterSettings)
    except SettingsError as error:
        logger.error("the roll-up's settings are invalid", variable=error.variable, error=str(error))
        raise
    rolling = RollUp(settings)
    deadline = rolling.clock() + context.get_remaining_time_in_millis() - ROLL_UP_RESERVE_MS
    result = rolling.run(deadline_ms=deadline)
    metrics.add_metric(name="RollupsBuilt", unit=MetricUnit.Count, value=len(result.built))
    metrics.add_metric(name="RollupsRemaining", unit=MetricUnit.Count, value=result.remaining)
    return {
        "built": [f"{unit.day}#{unit.shard}" for unit in result.built],
        "requests": result.requests,
        "flagged": result.flagged,
        "cleared": result.cleared,
        "remaining": result.remaining,
    }
