"""Processor CPU per event with AWS calls stubbed out (target: at most 0.2 ms), and events per second.

The handler runs on realistic batches (sample traffic, 15 % client retries, some poison) with the
repository replaced by an in-memory one that keeps the same conditional semantics, so what is measured is
the processor's own work: Powertools' FIFO batch processing, parsing and validation, correlation, record
building, logging and metrics. Beside it, in the same run, parsing alone (`contract.parsing.parse_event`)
shows how much of the cost is the contract's validation.
"""

from __future__ import annotations

import contextlib
import os
import time
import warnings
from pathlib import Path
from typing import Any

from tests.support.memory_store import MemoryStore
from tests.support.sample_traffic import sample_messages, sample_requests

from bench.processor_common import batches, lambda_event
from contract.config import load_settings
from contract.parsing import parse_event
from cv_analytics.local.event_source import LocalLambdaContext
from processor.runtime import build_runtime
from processor.settings import ProcessorSettings

REQUESTS = 2000
ROUNDS = 3
TARGET_MS = 0.2


def cpu_seconds_per_event(handler: Any, events: list[dict[str, Any]]) -> float:
    context = LocalLambdaContext("bench", timeout_ms=900_000)
    count = sum(len(event["Records"]) for event in events)
    settings = load_settings(ProcessorSettings)
    best = float("inf")
    for _ in range(ROUNDS):
        runtime = build_runtime(settings, store=MemoryStore())
        started = time.process_time()
        for event in events:
            handler.handle(event, context, runtime)
        best = min(best, (time.process_time() - started) / count)
    return best


def parse_seconds_per_event(bodies: list[str]) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.process_time()
        for body in bodies:
            with contextlib.suppress(ValueError):  # poison costs its parse too
                parse_event(body)
        best = min(best, (time.process_time() - started) / len(bodies))
    return best


def main() -> None:
    # Quarantine warnings would flood the figures; the cost of an emitted log line is not what this measures.
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    os.environ["POWERTOOLS_METRICS_NAMESPACE"] = "Bench"
    warnings.simplefilter("ignore")
    from processor import handler

    messages = sample_messages(sample_requests(REQUESTS), duplicate_share=0.15, poison=40)
    events = [lambda_event(group) for group in batches(messages)]
    with Path(os.devnull).open("w") as sink, contextlib.redirect_stdout(sink):  # EMF lines still written
        per_event = cpu_seconds_per_event(handler, events)
    parsing = parse_seconds_per_event([message.body for message in messages])
    verdict = "within" if per_event * 1000 <= TARGET_MS else "ABOVE"
    print(f"processor, AWS stubbed: {per_event * 1e3:.3f} ms CPU per event, {1 / per_event:,.0f} events/s")
    print(
        f"  ({len(messages)} events, batches of 10, best of {ROUNDS}; {verdict} the target of {TARGET_MS} ms)"
    )
    print(f"parse_event alone:      {parsing * 1e3:.3f} ms CPU per event, {1 / parsing:,.0f} events/s")
    print(f"processor / parsing: {per_event / parsing:.1f}x")


if __name__ == "__main__":
    main()
