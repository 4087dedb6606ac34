"""DynamoDB requests per complete request, counted with a botocore event hook (target: at most 3 on average).

Three deliveries of the same kind of traffic, through the real handler against DynamoDB in moto:
- each half in a different batch (the query now, its response in a later invocation): the design's worst
  case, one UpdateItem per half plus one transaction;
- both halves in one batch: one transaction for the pair;
- realistic: sample traffic in send order, batches of 10, 15 % client retries, a fifth of the requests
  without a response, then the orphan sweep (its index Query included).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

from moto import mock_aws
from tests.support.moto_resources import create_tables
from tests.support.sample_traffic import Outgoing, sample_messages, sample_requests

from bench.processor_common import batches, count_dynamodb_calls, lambda_event, quiet_processor
from contract.config import load_settings
from cv_analytics.local.event_source import LocalLambdaContext
from processor.runtime import Runtime, build_runtime
from processor.settings import ProcessorSettings

REQUESTS = 300
TARGET = 3.0


def fresh_runtime() -> Runtime:
    """The processor's runtime from the environment, on new tables (inside moto)."""
    runtime = build_runtime(load_settings(ProcessorSettings))
    create_tables()
    return runtime


def deliver(runtime: Runtime, groups: list[list[Outgoing]], calls: Counter[str]) -> int:
    from processor import handler  # after main() set the log level it reads at import

    context = LocalLambdaContext("bench", timeout_ms=900_000)
    for group in groups:
        response = handler.handle(lambda_event(group), context, runtime)
        if response["batchItemFailures"]:
            raise RuntimeError(f"unexpected failures: {response}")
    return sum(calls.values())


def play(runtime: Runtime, groups: list[list[Outgoing]], *, sweep: bool) -> None:
    """Deliver the batches, then run the sweep if asked; the handler's EMF lines (stdout) stay out of the
    figures."""
    from processor import handler

    with Path(os.devnull).open("w") as sink, contextlib.redirect_stdout(sink):
        deliver(runtime, groups, Counter())
        if sweep:
            handler.sweep({}, LocalLambdaContext("sweep", timeout_ms=900_000), runtime)


def scenario(name: str, build: Any) -> float:
    with mock_aws():
        runtime = fresh_runtime()
        calls = count_dynamodb_calls()
        groups, complete, sweep = build()
        play(runtime, groups, sweep=sweep)
        total = sum(calls.values())
        per_request: float = total / complete
        detail = ", ".join(f"{operation} {count}" for operation, count in sorted(calls.items()))
        print(
            f"{name:<22} {per_request:5.2f} requests per complete request ({total} for {complete}: {detail})"
        )
        return per_request


def asked_now() -> list[Any]:
    """The sample requests asked from a minute ago, as live traffic is: a record written long after its
    request is flagged late for the rollups (one more index write), which live traffic never is."""
    return sample_requests(REQUESTS, start_ms=int(time.time() * 1000) - 60_000)


def answered() -> list[Any]:
    return [request for request in asked_now() if request.response is not None]


def in_two_batches(messages: list[Outgoing]) -> list[list[Outgoing]]:
    """Each request's query in one batch and its response in the next: the design's worst case."""
    queries = [m for m in messages if '"eventType":"query"' in m.body]
    responses = [m for m in messages if '"eventType":"response"' in m.body]
    return [group for pair in zip(batches(queries), batches(responses), strict=True) for group in pair]


def separate_batches() -> tuple[list[list[Outgoing]], int, bool]:
    requests = answered()
    return in_two_batches(sample_messages(requests)), len(requests), False


def same_batch() -> tuple[list[list[Outgoing]], int, bool]:
    requests = answered()
    return batches(sample_messages(requests)), len(requests), False


def realistic() -> tuple[list[list[Outgoing]], int, bool]:
    requests = asked_now()
    messages = sample_messages(requests, duplicate_share=0.15)
    return batches(messages), sum(1 for request in requests if request.response is not None), True


def main() -> None:
    quiet_processor()
    worst = scenario("halves in two batches", separate_batches)
    best = scenario("halves in one batch", same_batch)
    mixed = scenario("realistic stream", realistic)
    print(
        "realistic stream: requests counted over complete requests only; orphans and retries are extra work"
    )
    verdict = "within" if max(worst, mixed) <= TARGET else "ABOVE"
    print(f"two batches / one batch: {worst / best:.1f}x; worst {worst:.2f}, {verdict} target {TARGET:.0f}")


if __name__ == "__main__":
    main()
