"""Arm the silent-Worker alarm once the Worker has sent: before its first event every environment is silent.

The infra stack creates the alarm with its actions off (see `modules.alarms.AlertTopic.silence_alarm`).
The evidence that the Worker has sent is IAM's: an access key of the edge publisher last used for SQS. The
publisher may do nothing but `sqs:SendMessage` on the event queue, so that use is a send.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any


def last_send(iam: Any, user: str) -> datetime | None:
    """When any access key of `user` was last used for SQS, or None if never."""
    used: list[datetime] = []
    for key in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]:
        last = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])["AccessKeyLastUsed"]
        if last.get("ServiceName") == "sqs" and "LastUsedDate" in last:
            used.append(last["LastUsedDate"])
    return max(used, default=None)


def arm(iam: Any, cloudwatch: Any, *, user: str, alarm: str) -> datetime | None:
    """Enable the alarm's actions if the Worker has sent; returns when it last did (None: nothing armed)."""
    sent = last_send(iam, user)
    if sent is not None:
        cloudwatch.enable_alarm_actions(AlarmNames=[alarm])
    return sent
