"""Exactly one email per week, whatever the retries: a conditional marker item in Analytics.

The protocol, one `ReportMarker` per ISO week:

1. claim: a conditional write sets the marker to pending with a claim id and a lease. It succeeds when there
   is no marker, when the last attempt ended without sending (rejected, or released after a transient
   error), when a pending attempt's lease has run out (that attempt crashed), or with `force` when the
   report was already sent. It fails when the week was sent (`AlreadySent`) or another attempt holds a live
   lease (`ReportInProgressError`, raised so the Lambda retries later).
2. send through SES.
3. mark sent with the SES message id, on condition the claim is still ours.

A crash before step 2 leaves a pending marker whose lease runs out, so a retry sends. A crash between
steps 2 and 3 (SES accepted the message, the marker update never happened) also leaves a pending marker:
after the lease the retry sends again and the owner gets the week twice. That window is one DynamoDB
write; a duplicate weekly email is preferred to a week with no email, and there is no SES call that
could tell afterwards whether a message went out. The lease should equal the Lambda timeout so an attempt
that timed out is retried promptly but one still running is never overlapped.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from pynamodb.exceptions import DoesNotExist, UpdateError

from contract.keys import REPORT_SORT_KEY, report_partition
from contract.tables import ReportMarker

PENDING = "pending"
SENT = "sent"
REJECTED = "rejected"
# Longest error text kept on the marker.
ERROR_LIMIT = 1000


class AlreadySentError(Exception):
    def __init__(self, week: str, message_id: str | None) -> None:
        super().__init__(f"the report for {week} was already sent (SES message id {message_id})")
        self.message_id = message_id


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


def _conditional_failed(error: UpdateError) -> bool:
    return error.cause_response_code == "ConditionalCheckFailedException"


def read(week: str) -> ReportMarker | None:
    try:
        return ReportMarker.get(report_partition(week), REPORT_SORT_KEY, consistent_read=True)
    except DoesNotExist:
        return None


def claim(week: str, *, now_ms: int, lease_ms: int, force: bool = False) -> Claim:
    """Take the week's report for this attempt, or raise AlreadySentError / ReportInProgressError."""
    status = ReportMarker.status
    not_sent = status.does_not_exist() | ((status != PENDING) & (status != SENT))
    lapsed = (status == PENDING) & (ReportMarker.claimed_until < now_ms)
    condition = ReportMarker.pk.does_not_exist() | not_sent | lapsed
    if force:
        condition = condition | (status == SENT)
    claim_id = uuid.uuid4().hex
    marker = _key(week)
    try:
        marker.update(
            actions=[
                ReportMarker.kind.set(ReportMarker),
                ReportMarker.week.set(week),
                status.set(PENDING),
                ReportMarker.attempts.add(1),
                ReportMarker.updated_at.set(now_ms),
                ReportMarker.claim_id.set(claim_id),
                ReportMarker.claimed_until.set(now_ms + lease_ms),
                ReportMarker.error.remove(),
            ],
            condition=condition,
        )
    except UpdateError as error:
        if not _conditional_failed(error):
            raise
        current = read(week)
        if current is not None and current.status == SENT:
            raise AlreadySentError(week, current.ses_message_id) from error
        until = int(current.claimed_until or 0) if current is not None else 0
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
        if _conditional_failed(error):
            return False
        raise
    return True


def mark_sent(claim: Claim, message_id: str, *, now_ms: int) -> bool:
    return _finish(
        claim,
        now_ms,
        ReportMarker.status.set(SENT),
        ReportMarker.ses_message_id.set(message_id),
        ReportMarker.claimed_until.remove(),
    )


def mark_rejected(claim: Claim, error: str, *, now_ms: int) -> bool:
    return _finish(
        claim,
        now_ms,
        ReportMarker.status.set(REJECTED),
        ReportMarker.error.set(error[:ERROR_LIMIT]),
        ReportMarker.claimed_until.remove(),
    )


def release(claim: Claim, error: str, *, now_ms: int) -> bool:
    """Give the claim back after a failure that certainly sent nothing, so the retry need not wait."""
    return _finish(
        claim, now_ms, ReportMarker.claimed_until.set(0), ReportMarker.error.set(error[:ERROR_LIMIT])
    )
