"""One weekly report, start to finish: read, compute, render, claim, send, mark.

Shared by the Lambda handler and the `cv-analytics report` commands, so both behave the same.
Reading and rendering come before the claim: a failure there leaves no marker behind.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError

from contract.config import SettingsError
from reporter import marker
from reporter.fitting import fit
from reporter.grouping import QuestionGrouper, default_grouper
from reporter.insights import (
    NEW_TOPIC_WEEKS,
    WeekAggregator,
    WeekInsights,
    WeekRouter,
    build_insights,
    data_quality,
    report_weeks,
)
from reporter.mailer import SesMailer, SesRejectedError, build_message
from reporter.period import ReportWeek
from reporter.render import RenderedEmail
from reporter.settings import ReporterSettings
from reporter.store import EXACT_SESSIONS_LIMIT, AnalyticsReader

logger = logging.getLogger(__name__)

DRY_RUN = "dry_run"
SENT = "sent"
ALREADY_SENT = "already_sent"
REJECTED = "rejected"
IN_DOUBT = "in_doubt"

# Failures that prove the request never reached SES: the connection was not made.
NOT_SENT_ERRORS = (EndpointConnectionError, ConnectTimeoutError)


@dataclass(frozen=True)
class Report:
    """A rendered week, before sending."""

    insights: WeekInsights
    email: RenderedEmail
    message: bytes


@dataclass(frozen=True)
class Outcome:
    week: str
    status: str
    subject: str | None = None
    message_id: str | None = None
    message_bytes: int | None = None
    requests: int | None = None
    error: str | None = None


def aggregate(reader: AnalyticsReader, week: ReportWeek) -> list[WeekAggregator]:
    """The week and the seven before it, from their rollups: the hours of all eight weeks, the wording
    tallies of the week, and of the NEW_TOPIC_WEEKS before it how often each wording was asked (the NEW
    marks and the grouping's weights need that; the eight-week row needs no wording). A week of at most
    EXACT_SESSIONS_LIMIT requests has its sessions counted exactly from its records; a busier one from
    the rollups' sketch."""
    weeks = [WeekAggregator(each) for each in report_weeks(week)]
    for aggregator in weeks[:-2]:
        aggregator.keeps_sketch = False
    days = sorted({day for aggregator in weeks for day in aggregator.week.utc_days()})
    earlier = weeks[-1 - NEW_TOPIC_WEEKS : -1]
    counted_days = sorted({day for aggregator in earlier for day in aggregator.week.utc_days()})
    router = WeekRouter(weeks)
    reader.rollups(
        days,
        week.utc_days(),
        counted_days,
        lambda hours: router.add_rollups(hours, ()),
        lambda wordings: router.add_rollups((), wordings),
    )
    for aggregator in weeks[-2:]:  # the email shows the week's sessions, and the week before is compared
        if aggregator.requests <= EXACT_SESSIONS_LIMIT:
            aggregator.count_sessions(reader.sessions(aggregator.week))
    return weeks


def collect(
    reader: AnalyticsReader,
    week: ReportWeek,
    settings: ReporterSettings,
    grouper: QuestionGrouper | None = None,
) -> WeekInsights:
    """The week's insights against the seven weeks before (see `aggregate`)."""
    weeks = aggregate(reader, week)
    quality = data_quality(
        weeks[-1], reader.quarantined(week.utc_days()), reader.dlq_depth(), reader.pending_requests()
    )
    return build_insights(
        weeks, quality, settings.model_prices(), settings.report_currency, grouper or default_grouper()
    )


def prepare(reader: AnalyticsReader, week: ReportWeek, settings: ReporterSettings) -> Report:
    """The week's email, its lists shortened as far as the MIME message needs to stay under Gmail's limit."""
    insights = collect(reader, week, settings)
    sender = settings.report_sender or "report@cv-analytics.invalid"
    recipients = settings.report_recipients or ("owner@cv-analytics.invalid",)
    email, message = fit(insights, lambda rendered: build_message(rendered, sender, recipients))
    return Report(insights, email, message)


def require_addresses(settings: ReporterSettings) -> None:
    if not settings.report_sender:
        raise SettingsError("REPORT_SENDER is not set: give the verified SES identity to send from")
    if not settings.report_recipients:
        raise SettingsError("REPORT_RECIPIENTS is not set: give the comma-separated addresses to send to")


def _now_ms() -> int:
    return int(time.time() * 1000)


def run(
    settings: ReporterSettings,
    week: ReportWeek,
    *,
    dry_run: bool = False,
    force: bool = False,
    reader: AnalyticsReader | None = None,
    mailer: SesMailer | None = None,
    clock: Callable[[], int] = _now_ms,
) -> Outcome:
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
        if existing is not None and existing.status == marker.SENT and not force:
            logger.info("report already sent", extra={"week": name, "message_id": existing.ses_message_id})
            return Outcome(name, ALREADY_SENT, message_id=existing.ses_message_id)
    report = prepare(reader, week, settings)
    outcome = Outcome(
        name,
        DRY_RUN,
        subject=report.email.subject,
        message_bytes=len(report.message),
        requests=report.insights.totals.requests,
    )
    if dry_run:
        return outcome
    try:
        claim = marker.claim(name, now_ms=clock(), lease_ms=settings.report_claim_seconds * 1000, force=force)
    except marker.AlreadySentError as sent:
        return Outcome(name, ALREADY_SENT, message_id=sent.message_id)
    except marker.ReportInDoubtError as doubt:
        return _in_doubt(outcome, str(doubt), clock())
    mailer = mailer or SesMailer(settings.aws_region, settings.aws_endpoint_url)
    return _send(settings, claim, report.message, outcome, mailer=mailer, clock=clock)


def _send(
    settings: ReporterSettings,
    claim: marker.Claim,
    message: bytes,
    outcome: Outcome,
    *,
    mailer: SesMailer,
    clock: Callable[[], int],
) -> Outcome:
    """Mark the claimed week sending, send it, and record what became of it."""
    name = claim.week
    marker.mark_sending(claim, now_ms=clock())
    try:
        message_id = mailer.send(message, settings.report_sender, settings.report_recipients)
    except SesRejectedError as rejection:
        logger.error("SES rejected the report", extra={"week": name, "error": str(rejection)})
        marker.mark_rejected(claim, str(rejection), now_ms=clock())
        return replace(outcome, status=REJECTED, error=str(rejection))
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
    return replace(outcome, status=SENT, message_id=message_id)


def _in_doubt(outcome: Outcome, reason: str, now_ms: int) -> Outcome:
    """Record and report a week that may have been sent: sending again could give the owner two emails."""
    logger.error(
        "the report may or may not have been sent; not sending again without force",
        extra={"week": outcome.week, "error": reason},
    )
    marker.mark_in_doubt(outcome.week, reason, now_ms=now_ms)
    return replace(outcome, status=IN_DOUBT, error=reason)
