"""Replaying a traffic plan through the example Worker's HTTP endpoint, as recruiters' browsers would.

Each planned request becomes one `POST /chat` with the demo headers the example Worker honours only when its
demo switches are on: `x-demo-time` dates the request at its planned time, `x-demo-request-id` gives it the
plan's id (so a seed replays the same records), `x-demo-country` stands in for the country Cloudflare
would put in `request.cf` (Miniflare gives every request the same one), and `x-demo-crash: isolate` makes the
isolate hang after the question was recorded, which workerd ends with a 500 and no response event: a crash
that leaves an orphan.

Two faults the Worker cannot produce are added around it: duplicate deliveries (`duplicating`: a copy of a
received event put back on the queue under another deduplication id, as a sender that retried would) and a
malformed event sent straight to the queue (`send_malformed`).
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cv_analytics.local.traffic import Fate, PlannedRequest

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

    from cv_analytics.local.event_source import Handler

REQUEST_TIMEOUT_SECONDS = 30
MALFORMED_BODY = '{"eventType":"query","requestId":"malformed-1","timestamp":"yesterday","query":42}'
# The HTTP status the Worker answers each fate with.
EXPECTED_STATUS = {
    Fate.ANSWERED: 200,
    Fate.NO_RESULTS: 200,
    Fate.REJECTED: 400,
    Fate.ERROR: 500,
    Fate.CRASH: 500,
}


def request_headers(planned: PlannedRequest) -> dict[str, str]:
    """The headers of one replayed request: what a browser sends, plus the demo's switches."""
    headers = {
        "content-type": "application/json",
        "user-agent": planned.user_agent,
        "x-demo-time": str(int(planned.asked_at.timestamp() * 1000)),
        "x-demo-request-id": planned.request_id,
        "x-demo-country": planned.country,
    }
    if planned.referer:
        headers["referer"] = planned.referer
    if planned.fate is Fate.CRASH:
        headers["x-demo-crash"] = "isolate"
    return headers


def ask(chat_url: str, planned: PlannedRequest) -> int:
    """Send one planned question to the Worker; the HTTP status it answered."""
    body = json.dumps({"question": planned.question, "sessionId": planned.session_id}).encode()
    request = urllib.request.Request(  # noqa: S310 - the loopback URL of the Worker this process started
        chat_url, data=body, method="POST", headers=request_headers(planned)
    )
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_SECONDS) as response:  # noqa: S310
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as error:
        error.read()
        return int(error.code)


def replay(
    chat_url: str,
    requests: Iterable[PlannedRequest],
    *,
    concurrency: int = 4,
    ready: Callable[[], bool] = lambda: True,
    on_answer: Callable[[PlannedRequest, int], None] = lambda planned, status: None,
) -> Counter[int]:
    """Ask every planned question with a few in flight at once; how many got each HTTP status.

    Before each request the sender waits until `ready()`, so the queue behind the Worker stays shallow.
    """
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    stopping = threading.Event()  # set when the caller gives up: a waiting sender must not wait forever

    def one(planned: PlannedRequest) -> None:
        while not ready():
            if stopping.wait(0.01):
                return
        status = ask(chat_url, planned)
        with lock:
            statuses[status] += 1
        on_answer(planned, status)

    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="recruiter") as pool:
        futures = [pool.submit(one, planned) for planned in requests]
        try:
            for future in futures:
                future.result()
        except BaseException:
            stopping.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return statuses


@dataclass
class Duplicator:
    """Wraps the processor's handler: the first delivery of an event of a chosen request is put back on the
    queue once more, under another deduplication id, before the handler sees it (a sender's retry)."""

    sqs: SQSClient
    queue_url: str
    handler: Handler
    request_ids: frozenset[str]
    copied: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __call__(self, event: dict[str, Any], context: Any) -> Mapping[str, Any] | None:
        for record in event.get("Records", []):
            self._copy(record)
        return self.handler(event, context)

    def _copy(self, record: dict[str, Any]) -> None:
        attributes = record.get("attributes", {})
        deduplication_id = attributes.get("MessageDeduplicationId", record["messageId"])
        try:
            parsed = json.loads(record["body"])
        except ValueError:
            return
        if not isinstance(parsed, dict) or parsed.get("requestId") not in self.request_ids:
            return
        with self.lock:
            if deduplication_id in self.copied or deduplication_id.endswith(":retry"):
                return
            self.copied.add(deduplication_id)
        self.sqs.send_message(
            QueueUrl=self.queue_url,
            MessageBody=record["body"],
            MessageGroupId=attributes.get("MessageGroupId", "duplicates"),
            MessageDeduplicationId=f"{deduplication_id}:retry",
        )


def send_malformed(sqs: SQSClient, queue_url: str) -> None:
    """One event that breaks the contract (a text timestamp, a number as the question), straight to SQS."""
    sqs.send_message(
        QueueUrl=queue_url,
        MessageBody=MALFORMED_BODY,
        MessageGroupId="malformed",
        MessageDeduplicationId="malformed-1",
    )
