"""The owner's guardrails on the applied twin: the budget and the silent-Worker alarm as AWS holds them, and
the DLQ redrive of an event that failed until its cause was fixed.

They run on the session's one twin (`conftest.applied`), before test_twin.py's destroy, and put back what
they change.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from cv_analytics import edge_key, redrive
from cv_analytics.local.pipeline import deployed_event_source, publisher_key
from cv_analytics.local.twin import Credentials
from cv_analytics.local.worker import DeployedExampleWorker
from tests.twin.conftest import AppliedTwin

pytestmark = pytest.mark.integration

PREFIX = "cv-analytics-local"


def test_the_budget_and_the_silent_alarm_are_applied_as_configured(applied: AppliedTwin) -> None:
    account = applied.twin.client("sts").get_caller_identity()["Account"]
    budgets = applied.twin.client("budgets")
    budget = budgets.describe_budget(AccountId=account, BudgetName=f"{PREFIX}-monthly-cost")["Budget"]
    assert (budget["BudgetLimit"]["Amount"], budget["TimeUnit"]) == ("1.00", "MONTHLY")
    assert budget["CostFilters"] == {"TagKeyValue": ["user:Project$cv-analytics"]}
    notifications = budgets.describe_notifications_for_budget(
        AccountId=account, BudgetName=f"{PREFIX}-monthly-cost"
    )["Notifications"]
    assert sorted((n["NotificationType"], n["Threshold"]) for n in notifications) == [
        ("ACTUAL", 80),
        ("FORECASTED", 100),
    ]
    arn = f"arn:aws:budgets::{account}:budget/{PREFIX}-monthly-cost"
    tags = {t["Key"]: t["Value"] for t in budgets.list_tags_for_resource(ResourceARN=arn)["ResourceTags"]}
    assert tags == {
        "Project": "cv-analytics",
        "Component": "infra",
        "Environment": "local",
        "Owner": "cv-owner@example.com",
    }
    (alarm,) = applied.twin.client("cloudwatch").describe_alarms(AlarmNames=[f"{PREFIX}-worker-silent"])[
        "MetricAlarms"
    ]
    assert (alarm["TreatMissingData"], alarm["EvaluationPeriods"], alarm["Period"]) == ("breaching", 24, 3600)
    assert alarm["ActionsEnabled"] is False  # until the Worker's first event arms it


def _role_policy(applied: AppliedTwin) -> tuple[Any, dict[str, Any]]:
    iam = applied.twin.client("iam")
    document = iam.get_role_policy(
        RoleName=f"{PREFIX}-processor-role", PolicyName=f"{PREFIX}-processor-policy"
    )
    return iam, document["PolicyDocument"]


def _without_update_item(document: dict[str, Any]) -> dict[str, Any]:
    statements = []
    for statement in document["Statement"]:
        actions = [a for a in statement["Action"] if a != "dynamodb:UpdateItem"]
        statements.append({**statement, "Action": actions or ["sqs:GetQueueUrl"]})
    return {**document, "Statement": statements}


def _events(request_id: str) -> list[tuple[str, dict[str, Any]]]:
    base = {"requestId": request_id, "sessionId": "redrive-session", "timestamp": 1764154800123}
    query = {**base, "eventType": "query", "query": "Is she available in January?"}
    response = {
        **base,
        "eventType": "response",
        "timestamp": 1764154801123,
        "matchType": "full",
        "matchScore": 90,
        "reasoning": "Strong match",
    }
    return [(f"{request_id}:query", query), (f"{request_id}:response", response)]


def _depth(sqs: Any, url: str) -> int:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(attributes[name]) for name in names)


class _DeleteFailsOnce:
    """The DLQ as an interrupted run sees it: the first delete after a successful send never happens."""

    def __init__(self, sqs: Any) -> None:
        self._sqs = sqs
        self.failed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sqs, name)

    def delete_message(self, **arguments: Any) -> Any:
        if not self.failed:
            self.failed = True
            raise ConnectionError("connection lost before DeleteMessage")
        return self._sqs.delete_message(**arguments)


def test_an_event_that_failed_into_the_dlq_is_recorded_once_after_the_fix_and_an_interrupted_redrive(
    applied: AppliedTwin,
) -> None:
    outputs = applied.outputs
    request_id = "redrive-after-fix"
    admin = applied.twin.client("sqs")
    sender = applied.twin.client("sqs", publisher_key(applied.twin, outputs.edge_publisher_user))
    iam, original = _role_policy(applied)
    put = {"RoleName": f"{PREFIX}-processor-role", "PolicyName": f"{PREFIX}-processor-policy"}
    cache, logs = applied.root / "code", applied.root / "logs"
    with deployed_event_source(
        applied.twin, outputs.queue_arn, cache=cache, log_dir=logs, visibility_timeout=0
    ) as (poller, _):
        try:
            # The cause: the processor may not write its interim item, so both halves fail every time.
            iam.put_role_policy(**put, PolicyDocument=json.dumps(_without_update_item(original)))
            for deduplication_id, event in _events(request_id):
                sender.send_message(
                    QueueUrl=outputs.queue_url,
                    MessageBody=json.dumps(event),
                    MessageGroupId="redrive-session",
                    MessageDeduplicationId=deduplication_id,
                )
            deadline = time.monotonic() + 120
            while _depth(admin, outputs.dlq_url) < 2 and time.monotonic() < deadline:
                poller.poll_once()
        finally:
            iam.put_role_policy(**put, PolicyDocument=json.dumps(original))  # the fix
        assert _depth(admin, outputs.dlq_url) == 2, "the failing events did not reach the DLQ"
        assert _depth(admin, outputs.queue_url) == 0

        found = redrive.survey(admin, outputs.dlq_url)
        assert found.approximate_count == 2
        assert found.groups == {"redrive-session": 2}
        assert found.quarantine_worthy == []
        assert all(m.receive_count >= 5 for m in found.seen)

        interrupted = _DeleteFailsOnce(admin)
        # moto forgets a deduplication id once its message leaves a queue, where SQS remembers it for
        # five minutes: on the twin there is nothing to wait out.
        with pytest.raises(ConnectionError):
            redrive.redrive(interrupted, outputs.dlq_url, outputs.queue_url, window=0)
        # Sent but not deleted: the first half is in both queues, the second still in the DLQ alone.
        assert (_depth(admin, outputs.dlq_url), _depth(admin, outputs.queue_url)) == (2, 1)
        moved = redrive.redrive(admin, outputs.dlq_url, outputs.queue_url, window=0)
        # In the order the DLQ holds them (moto moves a group's messages there in the order they failed).
        assert [m.deduplication_id for m in moved.moved] == [m.deduplication_id for m in found.seen]
        assert {m.deduplication_id for m in moved.moved} == {f"{request_id}:query", f"{request_id}:response"}
        assert _depth(admin, outputs.dlq_url) == 0

        deadline = time.monotonic() + 60
        while _depth(admin, outputs.queue_url) and time.monotonic() < deadline:
            poller.poll_once()
    assert _depth(admin, outputs.queue_url) == 0
    assert _depth(admin, outputs.dlq_url) == 0
    records = applied.twin.client("dynamodb").scan(
        TableName=outputs.analytics_table,
        FilterExpression="request_id = :id",
        ExpressionAttributeValues={":id": {"S": request_id}},
    )["Items"]
    kinds = sorted((r["kind"]["S"], r["correlation"]["S"]) for r in records)
    # One record and the guard that keeps it the only one; no quarantine, no orphan.
    assert kinds == [("guard", "complete"), ("request", "complete")]


def _drain_sessions(sqs: Any, url: str) -> dict[str, list[str]]:
    """Every event in the queue, deleted as read: session id -> event types."""
    found: dict[str, list[str]] = {}
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            event = json.loads(message["Body"])
            found.setdefault(event["sessionId"], []).append(event["eventType"])
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )
    return found


def test_rotating_the_edge_key_while_the_worker_serves_loses_no_event(applied: AppliedTwin) -> None:
    """Request authentication is on (the twin's default): the old key, the new one, nothing else signs."""
    outputs, twin = applied.outputs, applied.twin
    iam, user = twin.client("iam"), outputs.edge_publisher_user
    for key in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=user, AccessKeyId=key["AccessKeyId"])
    old = publisher_key(twin, user)
    bindings = {
        "AWS_SQS_URL": outputs.queue_url,
        "AWS_REGION": twin.region,
        "AWS_ACCESS_KEY_ID": old.access_key_id,
        "AWS_SECRET_ACCESS_KEY": old.secret_access_key,
    }
    log_dir = applied.root / "logs" / "rotation"
    log_dir.mkdir(parents=True, exist_ok=True)
    worker = DeployedExampleWorker(bindings, log_dir=log_dir, ca_file=twin.tls.ca_certificate)
    asked: list[str] = []
    answered: list[int] = []
    stop = threading.Event()

    def traffic() -> None:
        while not stop.is_set():
            session = f"rotation-{len(asked)}"
            asked.append(session)
            body = json.dumps({"question": "Has she led a team using Kubernetes?", "sessionId": session})
            request = urllib.request.Request(
                f"{worker.url}chat", data=body.encode(), headers={"content-type": "application/json"}
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                answered.append(response.status)
            stop.wait(0.1)  # a steady trickle: moto's SQS slows down as its queue deepens

    def accepted(key: edge_key.AccessKey) -> bool:
        credentials = Credentials(key.access_key_id, key.secret_access_key)
        return bool(twin.client("sts", credentials).get_caller_identity()["Arn"].endswith(f"user/{user}"))

    def hand_over(key: edge_key.AccessKey) -> bool:
        worker.put_secrets(edge_key.secrets_of(key))
        return True

    with ThreadPoolExecutor(max_workers=1) as pool:
        sending = pool.submit(traffic)
        try:
            while len(answered) < 5:  # the old key is in use before the rotation starts
                time.sleep(0.05)
            rotated = edge_key.rotate(iam, user=user, accepted=accepted, hand_over=hand_over, poll=0.2)
            settled = len(answered)
            while len(answered) < settled + 5:  # and the new key alone afterwards
                time.sleep(0.05)
        finally:
            stop.set()
            sending.result()
            worker.close()
    keys = [k["AccessKeyId"] for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]]
    assert (keys, rotated.old_key_id) == ([rotated.new_key_id], old.access_key_id)
    assert set(answered) == {200}
    events = _drain_sessions(twin.client("sqs"), outputs.queue_url)
    print(f"rotation: {len(asked)} requests, {sum(map(len, events.values()))} events, {rotated}")
    assert {session: sorted(kinds) for session, kinds in events.items()} == {
        session: ["query", "response"] for session in asked
    }
    for log in worker.logs:
        assert "not sent" not in log.read_text(), log
