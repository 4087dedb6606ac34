"""The reporter's two vocabularies, typed: what a week's marker says, and what one run of the report did.

A marker state is stored on the week's `ReportMarker` and moves pending -> sending -> sent (the protocol is
in `reporter.marker`); a report status is what `reporter.service.run` returns and the handler counts. Both
are `StrEnum`s, so what is stored, logged and returned is still the plain string.
"""

from __future__ import annotations

from enum import StrEnum


class MarkerState(StrEnum):
    """A week's marker item, as the table holds it."""

    PENDING = "pending"  # claimed by an attempt (or released by one): nothing was sent
    SENDING = "sending"  # the SES call is being made: a lapsed lease here means it may have gone
    SENT = "sent"
    REJECTED = "rejected"  # SES refused the message for good
    IN_DOUBT = "in_doubt"  # an attempt may have sent it and never said: only `force` sends again


class ReportStatus(StrEnum):
    """What one run of the weekly report did; each is counted by its own metric."""

    DRY_RUN = "dry_run"  # rendered only: nothing sent, the marker untouched
    SENT = "sent"
    ALREADY_SENT = "already_sent"
    REJECTED = "rejected"
    IN_DOUBT = "in_doubt"
