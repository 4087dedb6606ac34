"""Realistic, reproducible events for tests and benchmarks: what the Worker would send, sent straight to SQS.

`traffic` plans what recruiters do (replayed through the Worker by the demo); this module makes the events
directly, for tests and benchmarks of the processor that need no Worker.

Each request is a query event and, when the bot answered, a response event, in the contract's shape (the
optional additions included). Messages are grouped by session as the edge client sends them. Duplicates
(the same event sent again under another deduplication id, as a client retry does) and poison messages
(not JSON, or breaking the contract) can be mixed in, each marked so a test knows what to expect.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from cv_analytics.local.traffic import COUNTRIES as PLAN_COUNTRIES
from cv_analytics.local.traffic import QUESTIONS_ANSWERED, QUESTIONS_UNANSWERABLE

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

    from cv_analytics.local.event_source import EventSourceMapping

Kind = Literal["query", "response", "duplicate", "poison"]

# The same recruiters' questions as the demo's traffic plan, here sent as events without the Worker.
QUESTIONS = QUESTIONS_ANSWERED + QUESTIONS_UNANSWERABLE
SOURCES = ("Kubernetes", "Docker", "Terraform", "AWS", "Go", "Python", "Leadership", "Languages", "Education")
MODELS = ("@cf/meta/llama-3.1-8b-instruct", "@cf/mistral/mistral-7b-instruct-v0.2")
COUNTRIES = (*dict.fromkeys(PLAN_COUNTRIES), None)  # None: the Worker could not tell
POISON_BODIES = (
    "not json at all",
    '{"eventType":"query","requestId":"r-1"',
    '{"eventType":"query","timestamp":1764154800123,"query":"no request id"}',
    '{"eventType":"response","requestId":"r-2","timestamp":1764154800123,"matchType":"maybe",'
    '"matchScore":50,"reasoning":"x"}',
    '{"eventType":"shout","requestId":"r-3","timestamp":1764154800123}',
    "[1, 2, 3]",
)


@dataclass(frozen=True)
class Outgoing:
    """One message to send: body, FIFO group, deduplication id, and what it is (for assertions)."""

    body: str
    group_id: str
    deduplication_id: str
    kind: Kind
    request_id: str | None


@dataclass(frozen=True)
class SampleRequest:
    request_id: str
    session_id: str
    query: dict[str, Any]
    response: dict[str, Any] | None


def sample_requests(count: int, *, seed: int = 7, start_ms: int = 1764154800000) -> list[SampleRequest]:
    """`count` requests over a few hours; about one in five gets no response (rejected, error, no match)."""
    rng = random.Random(seed)
    sessions = [f"session-{index:03d}" for index in range(max(1, count // 4))]
    requests = []
    for index in range(count):
        request_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        session_id = rng.choice(sessions)
        asked = start_ms + index * 1500 + rng.randrange(1000)
        country = rng.choice(COUNTRIES)
        metadata: dict[str, Any] = {
            "userAgent": "Mozilla/5.0 (X11; Linux x86_64)",
            "referer": "https://example.dev/cv",
        }
        if country:
            metadata["country"] = country
        query = {"eventType": "query", "requestId": request_id, "timestamp": asked, "sessionId": session_id,
                 "query": rng.choice(QUESTIONS), "metadata": metadata, "schemaVersion": 1}  # fmt: skip
        response = None
        if rng.random() < 0.8:
            score = rng.randrange(0, 101)
            match_type = "full" if score >= 75 else "partial" if score >= 40 else "none"
            total = rng.randrange(300, 4000)
            tokens = {"input": rng.randrange(200, 2000), "output": rng.randrange(20, 400)}
            performance = {"totalTime": total, "llmTime": int(total * 0.7), "retrievalTime": int(total * 0.1),
                           "cacheHit": rng.random() < 0.3}  # fmt: skip
            answered = asked + total + rng.randrange(50)
            response = {
                "eventType": "response", "requestId": request_id, "timestamp": answered,
                "sessionId": session_id, "matchType": match_type, "matchScore": score,
                "reasoning": f"{match_type} match with {score / 100:.2f} similarity",
                "vectorMatches": rng.randrange(0, 6), "schemaVersion": 1, "status": 200,
                "outcome": "answered" if match_type != "none" else "no_results",
                "model": rng.choice(MODELS), "tokens": tokens, "performance": performance,
                "metadata": {"matchQuality": round(score / 100, 4), "sourcesUsed": rng.sample(SOURCES, 3)},
            }  # fmt: skip
        requests.append(SampleRequest(request_id, session_id, query, response))
    return requests


def _message(event: dict[str, Any], kind: Kind, suffix: str = "") -> Outgoing:
    body = json.dumps(event, separators=(",", ":"))
    dedup = f"{event['requestId']}:{event['eventType']}{suffix}"
    return Outgoing(body, event["sessionId"], dedup, kind, event["requestId"])


def sample_messages(
    requests: list[SampleRequest], *, duplicate_share: float = 0.0, poison: int = 0, seed: int = 7
) -> list[Outgoing]:
    """The messages for `requests`, each session's in order; duplicates and poison spread through them."""
    rng = random.Random(seed)
    messages: list[Outgoing] = []
    for request in requests:
        halves = [request.query] + ([request.response] if request.response else [])
        for event in halves:
            messages.append(_message(event, event["eventType"]))
            if rng.random() < duplicate_share:
                messages.append(_message(event, "duplicate", suffix=":retry"))
    for index in range(poison):
        position = rng.randrange(len(messages) + 1)
        body = POISON_BODIES[index % len(POISON_BODIES)]
        messages.insert(position, Outgoing(body, f"poison-{index % 3}", f"poison-{index}", "poison", None))
    return messages


def send_all(
    sqs: SQSClient,
    queue_url: str,
    messages: list[Outgoing],
    *,
    ready: Callable[[int], bool] = lambda sent: True,
) -> None:
    """Send in batches of 10; before each batch wait until `ready(sent so far)`, so the queue stays shallow.

    moto's SQS recounts the queue on every call: a sender that runs ahead of its consumer makes both slow down
    quadratically, so local runs pace the sender on what the consumer has received.
    """
    for start in range(0, len(messages), 10):
        while not ready(start):
            time.sleep(0.01)
        chunk = messages[start : start + 10]
        sqs.send_message_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(index), "MessageBody": message.body, "MessageGroupId": message.group_id,
                 "MessageDeduplicationId": message.deduplication_id}
                for index, message in enumerate(chunk)
            ],
        )  # fmt: skip


def deliver(mapping: EventSourceMapping, messages: list[Outgoing], *, timeout: float = 90.0) -> None:
    """Send from a thread while `mapping` polls (so the queue never gets deep); return once it is drained."""
    sender = threading.Thread(
        target=send_all, args=(mapping.sqs, mapping.queue_url, messages), kwargs={"ready": mapping.keeps_up}
    )
    sender.start()
    try:
        mapping.drain(senders_done=lambda: not sender.is_alive(), timeout=timeout)
    finally:
        sender.join()
