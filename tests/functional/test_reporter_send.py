"""The reporter against moto server: reading every shard of the week's partitions, sending through SES once.

The week is 2026-W27 (29 June to 5 July 2026, British Summer Time), so its first hour lies in the UTC day
before Monday and its bounds cut two UTC days in half.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from contract.config import load_settings
from contract.tables import ReportMarker
from cv_analytics.local.moto_server import MotoServer
from cv_analytics.local.outbox import part, sent_messages
from reporter import handler, marker, service
from reporter.mailer import SesMailer
from reporter.period import ReportWeek
from reporter.records import Quarantined, Request
from reporter.settings import ReporterSettings
from reporter.status import MarkerState, ReportStatus
from reporter.store import AnalyticsReader
from tests.support.reporter_tables import (
    create_dlq,
    create_tables,
    put_pending,
    put_quarantined,
    put_requests,
    verify_sender,
)
from tests.support.reporter_week import LONDON, MODEL, at

WEEK = ReportWeek.parse("2026-W27", LONDON)
SHARDS = 3
SENDER = "reports@example.dev"
T0 = 1_800_000_000_000


def _local(day: int, hour: int, minute: int = 0) -> int:
    return at(day, hour, minute, week=WEEK)


def week_records() -> list[Request]:
    """Five requests inside the week, two just outside it; spread over shards by request id."""
    inside = [
        Request(
            "first-hour",
            "complete",
            _local(0, 0, 30),
            session_id="s1",
            question="Is she on call?",
            match_type="full",
            match_score=90,
            latency_ms=800,
            model=MODEL,
            input_tokens=1000,
            output_tokens=100,
            sources=("Kubernetes",),
        ),
        Request(
            "tuesday",
            "complete",
            _local(1, 14),
            session_id="s1",
            question="Does she know Go?",
            match_type="none",
            match_score=5,
            latency_ms=1200,
        ),
        Request("wednesday", "query_only", _local(2, 9), session_id="s2", question="Salary expectations?"),
        Request(
            "friday", "response_only", _local(4, 18), session_id="s3", match_type="partial", match_score=55
        ),
        Request(
            "last-hour",
            "complete",
            _local(6, 23, 30),
            session_id="s4",
            question="Is she on call??",
            match_type="full",
            match_score=70,
            latency_ms=1600,
            healed=True,
        ),
    ]
    outside = [
        Request("before", "complete", WEEK.start_ms - 30 * 60_000, question="Too early", match_type="full"),
        Request("after", "complete", WEEK.end_ms, question="Too late", match_type="full"),
    ]
    previous = [
        Request(f"prev-{n}", "complete", at(2, 12, week=WEEK.previous()), match_type="full") for n in range(4)
    ]
    return inside + outside + previous  # fmt: skip


@pytest.fixture
def settings(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[ReporterSettings]:
    monkeypatch.setenv("ANALYTICS_WRITE_SHARDS", str(SHARDS))
    monkeypatch.setenv("REPORT_SENDER", SENDER)
    monkeypatch.setenv("REPORT_RECIPIENTS", "owner@example.dev, second@example.dev")
    monkeypatch.setenv("REPORT_CLAIM_SECONDS", "60")
    base = load_settings(ReporterSettings)
    AnalyticsReader(base)  # binds the models to moto
    create_tables()
    monkeypatch.setenv("DLQ_URL", create_dlq(base, messages=2))
    put_requests(week_records(), SHARDS)
    put_quarantined(
        [Quarantined("bad-1", _local(3, 10), "$.timestamp: must be integer"),
         Quarantined("bad-2", WEEK.end_ms + 5, "not JSON")],
        SHARDS,
    )  # fmt: skip
    put_pending(3, first_seen=WEEK.end_ms)
    yield load_settings(ReporterSettings)


@pytest.fixture
def verified(settings: ReporterSettings) -> ReporterSettings:
    verify_sender(settings)
    return settings


def test_the_handler_reports_the_local_week_from_every_shard_and_sends_it(
    verified: ReporterSettings, moto_server: MotoServer
) -> None:
    result = handler.handle({"week": "2026-W27"}, None)
    assert result["status"] == ReportStatus.SENT
    assert result["requests"] == 5
    [message] = sent_messages(moto_server.endpoint_url)
    # The week before has four records and the one half an hour before this week's Monday 00:00 BST.
    assert message["Subject"] == (
        "CV chatbot, week 2026-W27: 5 questions (as many as the week before), 60% answered"
    )
    assert message["From"] == SENDER
    assert message["To"] == "owner@example.dev, second@example.dev"
    assert message.get_content_type() == "multipart/alternative"
    text = part(message, "text/plain")
    assert "Is she on call? [NEW] - 2x, 1 wording, match 80" in text  # first and last hour, two spellings
    assert "Too early" not in text
    assert "Too late" not in text
    assert "Failed, a question without a recorded answer: 1 (" in text
    assert "Answers whose question was lost: 1" in text
    assert "Records completed by a late half: 1" in text
    assert "Malformed events set aside: 1 ($.timestamp: must be integer: 1)" in text
    assert "Messages in the dead-letter queue: 2" in text
    assert "Requests still waiting for their other half: 3" in text
    assert "Does she know Go? [NEW] - 1x, 1 wording; closest in the CV: nothing matched" in text
    html = part(message, "text/html")
    assert "Is she on call?" in html
    marker_item = ReportMarker.get("REPORT#2026-W27", "MARKER")
    assert (marker_item.status, marker_item.ses_message_id) == (MarkerState.SENT, result["message_id"])


def test_the_schedules_input_reports_the_week_before_its_scheduled_time(verified: ReporterSettings) -> None:
    scheduled = {
        "time": "2026-07-06T08:00:00Z"
    }  # the target input {"time": "<aws.scheduler.scheduled-time>"}
    assert handler.handle(scheduled, None)["week"] == "2026-W27"


def test_two_invocations_send_one_email_and_force_sends_again(
    verified: ReporterSettings, moto_server: MotoServer
) -> None:
    first = handler.handle({"week": "2026-W27"}, None)
    second = handler.handle({"week": "2026-W27"}, None)
    assert (first["status"], second["status"]) == (ReportStatus.SENT, ReportStatus.ALREADY_SENT)
    assert second["message_id"] == first["message_id"]
    assert len(sent_messages(moto_server.endpoint_url)) == 1
    forced = handler.handle({"week": "2026-W27", "force": True}, None)
    assert forced["status"] == ReportStatus.SENT
    assert len(sent_messages(moto_server.endpoint_url)) == 2
    assert ReportMarker.get("REPORT#2026-W27", "MARKER").attempts == 2


def test_a_dry_run_renders_without_sending_or_marking(
    verified: ReporterSettings, moto_server: MotoServer
) -> None:
    result = handler.handle({"week": "2026-W27", "dryRun": True}, None)
    assert result["status"] == ReportStatus.DRY_RUN
    assert result["message_bytes"] > 1000
    assert sent_messages(moto_server.endpoint_url) == []
    assert marker.read("2026-W27") is None


class _CrashError(Exception):
    """Raised in place of one step of the send, as a Lambda stopped at that step would leave it."""


def _crash_at(step: str, settings: ReporterSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the week's report with `marker.<step>` crashing; the marker stays as that crash leaves it."""

    def crash(*args: Any, **kwargs: Any) -> None:
        raise _CrashError

    with monkeypatch.context() as patch:
        patch.setattr(marker, step, crash)
        with pytest.raises(_CrashError):
            service.run(settings, WEEK, clock=lambda: T0)


def test_a_crash_after_ses_accepted_the_message_is_in_doubt_and_not_sent_again(
    verified: ReporterSettings, moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _crash_at("mark_sent", verified, monkeypatch)
    assert len(sent_messages(moto_server.endpoint_url)) == 1
    assert marker.read(str(WEEK)).status == MarkerState.SENDING  # type: ignore[union-attr]

    # A retry while the crashed attempt's claim is live does not send: it raises so Lambda tries later.
    with pytest.raises(marker.ReportInProgressError):
        service.run(verified, WEEK, clock=lambda: T0 + 30_000)
    # After the lease it still does not send: the email may have gone out, so the week is recorded in doubt.
    late = service.run(verified, WEEK, clock=lambda: T0 + 61_000)
    assert late.status == ReportStatus.IN_DOUBT
    assert "may have been sent" in (late.error or "")
    stored = marker.read(str(WEEK))
    assert stored is not None
    assert stored.status == MarkerState.IN_DOUBT
    assert "may have been sent" in (stored.error or "")
    assert handler.handle({"week": str(WEEK)}, None)["status"] == ReportStatus.IN_DOUBT
    assert len(sent_messages(moto_server.endpoint_url)) == 1
    # Only force sends it again.
    forced = service.run(verified, WEEK, force=True, clock=lambda: T0 + 999_000)
    assert forced.status == ReportStatus.SENT
    assert len(sent_messages(moto_server.endpoint_url)) == 2
    assert marker.read(str(WEEK)).status == MarkerState.SENT  # type: ignore[union-attr]


def test_a_crash_before_sending_is_retried_after_the_lease_and_sends_once(
    verified: ReporterSettings, moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _crash_at("mark_sending", verified, monkeypatch)
    assert marker.read(str(WEEK)).status == MarkerState.PENDING  # type: ignore[union-attr]
    with pytest.raises(marker.ReportInProgressError):
        service.run(verified, WEEK, clock=lambda: T0 + 1_000)
    assert sent_messages(moto_server.endpoint_url) == []
    assert service.run(verified, WEEK, clock=lambda: T0 + 60_001).status == ReportStatus.SENT
    assert len(sent_messages(moto_server.endpoint_url)) == 1


class _Unreachable(SesMailer):
    def send(self, raw: bytes, sender: str, recipients: Any) -> str:
        raise EndpointConnectionError(endpoint_url="https://email.eu-west-2.amazonaws.com")


class _TimedOut(SesMailer):
    def send(self, raw: bytes, sender: str, recipients: Any) -> str:
        raise ReadTimeoutError(endpoint_url="https://email.eu-west-2.amazonaws.com")


class _Throttled(SesMailer):
    def send(self, raw: bytes, sender: str, recipients: Any) -> str:
        raise ClientError(
            {"Error": {"Code": "Throttling", "Message": "Maximum sending rate exceeded."}}, "Send"
        )


def test_an_unreachable_ses_releases_the_week_so_the_retry_sends_at_once(
    verified: ReporterSettings, moto_server: MotoServer
) -> None:
    unreachable = _Unreachable(verified.aws_region, verified.aws_endpoint_url)
    with pytest.raises(EndpointConnectionError):
        service.run(verified, WEEK, mailer=unreachable, clock=lambda: T0)
    assert marker.read(str(WEEK)).status == MarkerState.PENDING  # type: ignore[union-attr]
    assert service.run(verified, WEEK, clock=lambda: T0 + 1_000).status == ReportStatus.SENT
    assert len(sent_messages(moto_server.endpoint_url)) == 1


def test_a_timeout_while_sending_is_in_doubt_and_only_force_sends_again(
    verified: ReporterSettings, moto_server: MotoServer
) -> None:
    timed_out = _TimedOut(verified.aws_region, verified.aws_endpoint_url)
    outcome = service.run(verified, WEEK, mailer=timed_out, clock=lambda: T0)
    assert outcome.status == ReportStatus.IN_DOUBT
    assert "ReadTimeoutError" in (marker.read(str(WEEK)).error or "")  # type: ignore[union-attr]
    assert service.run(verified, WEEK, clock=lambda: T0 + 999_000).status == ReportStatus.IN_DOUBT
    assert sent_messages(moto_server.endpoint_url) == []
    assert service.run(verified, WEEK, force=True, clock=lambda: T0 + 999_001).status == ReportStatus.SENT
    assert len(sent_messages(moto_server.endpoint_url)) == 1


def test_throttling_raises_for_a_retry_that_may_send_at_once(
    verified: ReporterSettings, moto_server: MotoServer
) -> None:
    throttled = _Throttled(verified.aws_region, verified.aws_endpoint_url)
    with pytest.raises(ClientError, match="Throttling"):
        service.run(verified, WEEK, mailer=throttled, clock=lambda: T0)
    assert "Throttling" in (marker.read(str(WEEK)).error or "")  # type: ignore[union-attr]
    assert service.run(verified, WEEK, clock=lambda: T0 + 1_000).status == ReportStatus.SENT
    assert len(sent_messages(moto_server.endpoint_url)) == 1


def test_a_permanent_rejection_is_recorded_not_retried(
    settings: ReporterSettings, moto_server: MotoServer
) -> None:
    result = handler.handle({"week": "2026-W27"}, None)  # the sender identity is not verified
    assert result["status"] == ReportStatus.REJECTED
    assert "MessageRejected" in result["error"]
    stored = marker.read("2026-W27")
    assert stored is not None
    assert stored.status == MarkerState.REJECTED
    assert "MessageRejected" in (stored.error or "")
    # Once the identity is verified, the next run sends: a rejection is not a sent week.
    verify_sender(settings)
    assert handler.handle({"week": "2026-W27"}, None)["status"] == ReportStatus.SENT
    assert len(sent_messages(moto_server.endpoint_url)) == 1


def test_a_live_claim_keeps_a_concurrent_attempt_out(verified: ReporterSettings) -> None:
    AnalyticsReader(verified)
    held = marker.claim("2026-W27", now_ms=T0, lease_ms=60_000)
    with pytest.raises(marker.ReportInProgressError):
        marker.claim("2026-W27", now_ms=T0 + 59_999, lease_ms=60_000)
    with pytest.raises(marker.ReportInProgressError):
        marker.claim("2026-W27", now_ms=T0 + 1, lease_ms=60_000, force=True)
    assert marker.mark_sent(held, "ses-1", now_ms=T0 + 2)
    with pytest.raises(marker.AlreadySentError):
        marker.claim("2026-W27", now_ms=T0 + 3, lease_ms=60_000)


def test_an_empty_week_still_sends_a_short_email(verified: ReporterSettings, moto_server: MotoServer) -> None:
    result = handler.handle({"week": "2026-W40"}, None)
    assert result["status"] == ReportStatus.SENT
    [message] = sent_messages(moto_server.endpoint_url)
    assert message["Subject"] == "CV chatbot, week 2026-W40: no questions this week"
    assert "Nobody asked the chatbot anything this week." in part(message, "text/plain")
    assert marker.read("2026-W40").status == MarkerState.SENT  # type: ignore[union-attr]


def test_a_day_larger_than_one_query_page_is_read_whole(settings: ReporterSettings) -> None:
    monday = WEEK.days[0]
    busy = [
        Request(f"busy-{n}", "complete", _local(0, 12) + n, question="Padding?", match_type="full")
        for n in range(450)
    ]
    put_requests(busy, 1)  # all in shard 0; each carries 2 KB the reader does not project
    dynamodb: Any = boto3.client(
        "dynamodb", region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url
    )
    first_page = dynamodb.query(
        TableName=settings.analytics_table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"DAY#{monday.isoformat()}"}},
    )
    assert "LastEvaluatedKey" in first_page  # the partition really spans more than one page
    read = [record for batch in AnalyticsReader(settings).requests([monday]) for record in batch]
    assert sum(record.request_id.startswith("busy-") for record in read) == 450
