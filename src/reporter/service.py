"""One weekly report, start to finish: read, compute, render, claim, send, mark.

Shared by the Lambda handler and the `cv-analytics report` commands, so both behave the same.
Reading and rendering come before the claim: a failure there leaves no marker behind.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError

from contract.config import SettingsError
from contract.keys import parse_day_partition
from reporter import marker
from reporter.aggregation import WeekRouter
from reporter.fitting import fit
from reporter.grouping import QuestionGrouper, default_grouper
from reporter.mailer import SesMailer, SesRejectedError, build_message
from reporter.period import ReportWeek, wall_clock_ms
from reporter.render import RenderedEmail
from reporter.rollup_store import RollupStore
from reporter.rollups import reading_plan, units_of_flagged
from reporter.settings import ReporterSettings
from reporter.status import MarkerState, ReportStatus
from reporter.store import AnalyticsReader
from reporter.view_model import WeekInsights

logger = logging.getLogger(__name__)

# Failures that prove the request never reached SES: the connection was not made.
NOT_SENT_ERRORS = (EndpointConnectionError, ConnectTimeoutError)


@dataclass(frozen=True, slots=True)
class Report:
    """A rendered week, before sending."""

    insights: WeekInsights
    email: RenderedEmail
    message: bytes


@dataclass(frozen=True)
class ReportOutcome:
    """What one run did to a week's report, as the handler returns it and the command line shows it."""

    week: str
    status: ReportStatus
    subject: str | None = None
    message_id: str | None = None
    message_bytes: int | None = None
    requests: int | None = None
    error: str | None = None


def collect(
    reader: AnalyticsReader,
    week: ReportWeek,
    settings: ReporterSettings,
    grouper: QuestionGrouper | None = None,
    *,
    rollups: RollupStore | None = None,
    now_ms: int | None = None,
    by_meaning: bool = True,
) -> WeekInsights:
    """The week's insights against the seven weeks before: each day of a write shard from its rollup when
    that is complete and current (`reporter.rollups.reading_plan`), else from its records, in one parallel
    pass over the partitions still needed. Without `by_meaning`, every wording is its own group (what the
    benchmarks use to time the reading apart from the grouping)."""
    router = WeekRouter.ending(week)
    days = router.local_days()
    rollups = rollups or RollupStore(settings.report_timezone)
    now_ms = wall_clock_ms() if now_ms is None else now_ms
    stored = rollups.read(days[0], days[-1])
    stale = [unit for flagged in rollups.flagged() for unit in units_of_flagged(flagged, settings.zone)]
    plan = reading_plan(days, settings.analytics_write_shards, stored, stale, settings.zone, now_ms)
    for unit in plan.from_rollups:
        router.add_day(unit.day, stored[unit].figures(router.lists_for(unit.day)))
    for partition, records in reader.partition_requests(plan.partitions(settings.zone)):
        router.add_all(records, plan.record_days(parse_day_partition(partition)[1]))
    logger.info(
        "report read",
        extra={"from_rollups": len(plan.from_rollups), "from_records": len(plan.from_records)},
    )
    return router.insights(
        reader.quarantined(week.utc_days()),
        reader.dlq_depth(),
        reader.pending_requests(),
        prices=settings.model_prices(),
        currency=settings.report_currency,
        grouper=(grouper or default_grouper()) if by_meaning else None,
    )


def prepare(
    reader: AnalyticsReader,
    week: ReportWeek,
    settings: ReporterSettings,
    *,
    rollups: RollupStore | None = None,
) -> Report:
    """The week's email, its lists shortened as far as the MIME message needs to stay under Gmail's limit."""
    insights = collect(reader, week, settings, rollups=rollups)
    sender = settings.report_sender or "report@cv-analytics.invalid"
    recipients = settings.report_recipients or ("owner@cv-analytics.invalid",)
    email, message = fit(insights, lambda rendered: build_message(rendered, sender, recipients))
    return Report(insights, email, message)


def require_addresses(settings: ReporterSettings) -> None:
    if not settings.report_sender:
        raise SettingsError("REPORT_SENDER is not set: give the verified SES identity to send from")
    if not settings.report_recipients:
        raise SettingsError("REPORT_RECIPIENTS is not set: give the comma-separated addresses to send to")


def run(
    settings: ReporterSettings,
    week: ReportWeek,
    *,
    dry_run: bool = False,
    force: bool = False,
    reader: AnalyticsReader | None = None,
    mailer: SesMailer | None = None,
    clock: Callable[[], int] = wall_clock_ms,
) -> ReportOutcome:
    """Send (or with `dry_run` only render) the report of `week`, at most once unless `force`.

    Raises marker.ReportInProgressError when another attempt holds the week, and transient AWS errors as
    they come, so the Lambda retries; a permanent SES rejection is recorded on the marker and returned, and
    so is a week that may have been sent already (in doubt), which is not sent again without `force`.
    """
    name = str(week)
    reader = reader or AnalyticsReader(settings)
    if not dry_run:
        require_addresses(settings)
        existing = marker.read(name)
        if existing is not None and existing.status == MarkerState.SENT and not force:
            logger.info("report already sent", extra={"week": name, "message_id": existing.ses_message_id})
            return ReportOutcome(name, ReportStatus.ALREADY_SENT, message_id=existing.ses_message_id)
    report = prepare(reader, week, settings)
    outcome = ReportOutcome(
        name,
        ReportStatus.DRY_RUN,
        subject=report.email.subject,
        message_bytes=len(report.message),
        requests=report.insights.totals.requests,
    )
    if dry_run:
        return outcome
    try:
        claim = marker.claim(name, now_ms=clock(), lease_ms=settings.report_claim_seconds * 1000, force=force)
    except marker.AlreadySentError as sent:
        return ReportOutcome(name, ReportStatus.ALREADY_SENT, message_id=sent.message_id)
    except marker.ReportInDoubtError as doubt:
        return _in_doubt(outcome, str(doubt), clock())
    mailer = mailer or SesMailer(settings.aws_region, settings.aws_endpoint_url)
    return _send(settings, claim, report.message, outcome, mailer=mailer, clock=clock)


def _send(
    settings: ReporterSettings,
    claim: marker.Claim,
    message: bytes,
    outcome: ReportOutcome,
    *,
    mailer: SesMailer,
    clock: Callable[[], int],
) -> ReportOutcome:
    """Mark the claimed week sending, send it, and record what became of it."""
    name = claim.week
    marker.mark_sending(claim, now_ms=clock())
    try:
        message_id = mailer.send(message, settings.report_sender, settings.report_recipients)
    except SesRejectedError as rejection:
        logger.error("SES rejected the report", extra={"week": name, "error": str(rejection)})
        marker.mark_rejected(claim, str(rejection), now_ms=clock())
        return replace(outcome, status=ReportStatus.REJECTED, error=str(rejection))
    except (ClientError, *NOT_SENT_ERRORS) as error:
        # SES answered with an error (throttling, a service fault) or was never reached, so nothing went
        # out: give the week back and raise, and the Lambda's retry sends at once.
        marker.release(claim, f"{type(error).__name__}: {error}", now_ms=clock())
        raise
    except Exception as error:
        # A timeout or a connection lost after the request went: SES may have sent it.
        return _in_doubt(outcome, f"{type(error).__name__} while sending: {error}", clock())
    if not marker.mark_sent(claim, message_id, now_ms=clock()):
        logger.warning("another attempt took the week over while this one was sending", extra={"week": name})
    logger.info("report sent", extra={"week": name, "message_id": message_id})
    return replace(outcome, status=ReportStatus.SENT, message_id=message_id)


def _in_doubt(outcome: ReportOutcome, reason: str, now_ms: int) -> ReportOutcome:
    """Record and report a week that may have been sent: sending again could give the owner two emails."""
    logger.error(
        "the report may or may not have been sent; not sending again without force",
        extra={"week": outcome.week, "error": reason},
    )
    marker.mark_in_doubt(outcome.week, reason, now_ms=now_ms)
    return replace(outcome, status=ReportStatus.IN_DOUBT, error=reason)
