"""Exactly one email per week, whatever the retries: a conditional marker item in Analytics.

The protocol, one `ReportMarker` per ISO week, moving pending -> sending -> sent:

1. claim: a conditional write sets the marker to `pending` with a claim id and a lease. It succeeds when
   there is no marker, when the last attempt ended without sending (rejected, or released after an error
   SES answered with), or when a pending attempt's lease has run out: a pending marker means nothing was
   sent yet, so that attempt crashed before sending and the retry sends. With `force` it also succeeds on
   a week that was sent or is in doubt.
2. mark sending: just before the SES call, on condition the claim is still ours.
3. send through SES.
4. mark sent with the SES message id, on condition the claim is still ours.

A `sending` marker whose lease has run out means an attempt died between steps 2 and 4: SES may have
accepted the message, and no SES call can tell afterwards. So a retry does not send: the week is recorded
as `in_doubt` (`ReportInDoubtError`), logged and counted, and only `force` sends it again. A week may then
go without an email until someone looks, never with two. An error SES answered with (throttling, a
service fault) or a connection that was never made means nothing went out: the claim is released to
`pending`, and the Lambda's retry sends at once. The lease should equal the Lambda timeout so an attempt
that timed out is retried promptly but one still running is never overlapped.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from pynamodb.exceptions import DoesNotExist, UpdateError

from contract.dynamodb import condition_failed
from contract.keys import REPORT_SORT_KEY, report_partition
from contract.tables import ReportMarker
from reporter.status import MarkerState

# Longest error text kept on the marker.
ERROR_LIMIT = 1000


class AlreadySentError(Exception):
    def __init__(self, week: str, message_id: str | None) -> None:
        super().__init__(f"the report for {week} was already sent (SES message id {message_id})")
        self.message_id = message_id


class ReportInDoubtError(Exception):
    """An earlier attempt reached SES and never recorded the outcome: the email may or may not have gone."""

    def __init__(self, week: str, since: int) -> None:
        super().__init__(
            f"the report for {week} may have been sent: an attempt started sending it at epoch ms {since} "
            "and never recorded the outcome; check the inbox and send it with force if it did not arrive"
        )
        self.since = since


class ClaimLostError(Exception):
    """This attempt's lease ran out before it sent, and another attempt took the week over."""


class ReportInProgressError(Exception):
    def __init__(self, week: str, claimed_until: int) -> None:
        super().__init__(
            f"another attempt is sending the report for {week}; "
            f"a retry may take over after epoch ms {claimed_until}"
        )
        self.claimed_until = claimed_until


@dataclass(frozen=True)
class Claim:
    week: str
    claim_id: str
    attempts: int


def _key(week: str) -> ReportMarker:
    return ReportMarker(report_partition(week), REPORT_SORT_KEY)


def read(week: str) -> ReportMarker | None:
    try:
        return ReportMarker.get(report_partition(week), REPORT_SORT_KEY, consistent_read=True)
    except DoesNotExist:
        return None


def claim(week: str, *, now_ms: int, lease_ms: int, force: bool = False) -> Claim:
    """Take the week's report for this attempt.

    Raises AlreadySentError (sent), ReportInDoubtError (an attempt may have sent it) or ReportInProgressError
    (another attempt holds a live lease, so the Lambda retries later).
    """
    status = ReportMarker.status
    lapsed = ReportMarker.claimed_until < now_ms
    settled = (
        (status != MarkerState.PENDING)
        & (status != MarkerState.SENDING)
        & (status != MarkerState.SENT)
        & (status != MarkerState.IN_DOUBT)
    )
    condition = ReportMarker.pk.does_not_exist() | settled | ((status == MarkerState.PENDING) & lapsed)
    if force:
        condition = (
            condition
            | (status == MarkerState.SENT)
            | (status == MarkerState.IN_DOUBT)
            | ((status == MarkerState.SENDING) & lapsed)
        )
    claim_id = uuid.uuid4().hex
    marker = _key(week)
    try:
        marker.update(
            actions=[
                ReportMarker.kind.set(ReportMarker),
                ReportMarker.week.set(week),
                status.set(MarkerState.PENDING),
                ReportMarker.attempts.add(1),
                ReportMarker.updated_at.set(now_ms),
                ReportMarker.claim_id.set(claim_id),
                ReportMarker.claimed_until.set(now_ms + lease_ms),
                ReportMarker.error.remove(),
            ],
            condition=condition,
        )
    except UpdateError as error:
        if not condition_failed(error):
            raise
        current = read(week)
        if current is not None and current.status == MarkerState.SENT:
            raise AlreadySentError(week, current.ses_message_id) from error
        until = int(current.claimed_until or 0) if current is not None else 0
        if current is not None and (
            current.status == MarkerState.IN_DOUBT
            or (current.status == MarkerState.SENDING and until < now_ms)
        ):
            raise ReportInDoubtError(week, int(current.updated_at)) from error
        raise ReportInProgressError(week, until) from error
    return Claim(week, claim_id, int(marker.attempts))


def _finish(claim: Claim, now_ms: int, *actions: object) -> bool:
    """Apply the closing update if the claim is still ours; False when another attempt took over."""
    try:
        _key(claim.week).update(
            actions=[
                ReportMarker.updated_at.set(now_ms),
                *actions,  # type: ignore[list-item]
            ],
            condition=ReportMarker.claim_id == claim.claim_id,
        )
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    return True


def mark_sending(claim: Claim, *, now_ms: int) -> None:
    """Record that the SES call is about to be made; raises ClaimLostError if the week is no longer ours."""
    if not _finish(claim, now_ms, ReportMarker.status.set(MarkerState.SENDING)):
        raise ClaimLostError(f"the claim on {claim.week} ran out and another attempt took the week over")


def mark_sent(claim: Claim, message_id: str, *, now_ms: int) -> bool:
    return _finish(
        claim,
        now_ms,
        ReportMarker.status.set(MarkerState.SENT),
        ReportMarker.ses_message_id.set(message_id),
        ReportMarker.claimed_until.remove(),
    )


def mark_rejected(claim: Claim, error: str, *, now_ms: int) -> bool:
    return _finish(
        claim,
        now_ms,
        ReportMarker.status.set(MarkerState.REJECTED),
        ReportMarker.error.set(error[:ERROR_LIMIT]),
        ReportMarker.claimed_until.remove(),
    )


def release(claim: Claim, error: str, *, now_ms: int) -> bool:
    """Give the claim back after a failure that certainly sent nothing, so the retry sends at once."""
    return _finish(
        claim,
        now_ms,
        ReportMarker.status.set(MarkerState.PENDING),
        ReportMarker.claimed_until.set(0),
        ReportMarker.error.set(error[:ERROR_LIMIT]),
    )


def mark_in_doubt(week: str, reason: str, *, now_ms: int) -> None:
    """Record on a `sending` marker that the week may or may not have been sent; only `force` sends again."""
    try:
        _key(week).update(
            actions=[
                ReportMarker.status.set(MarkerState.IN_DOUBT),
                ReportMarker.updated_at.set(now_ms),
                ReportMarker.claimed_until.remove(),
                ReportMarker.error.set(reason[:ERROR_LIMIT]),
            ],
            condition=ReportMarker.status == MarkerState.SENDING,  # already in doubt: the first reason stays
        )
    except UpdateError as error:
        if not condition_failed(error):
            raise
