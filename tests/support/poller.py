"""The local event source in a process of its own: `python -m tests.support.poller QUEUE_URL`.

On AWS the poller and the function are not the caller's process: either can die at any moment, in the
middle of a batch, and the queue's visibility timeout brings the batch back. Running the poller as a
separate process lets that be done for real (SIGKILL, then a restart). It reads the processor's settings
from the environment like the Lambda, and prints one line `batch N` to stdout as each batch is handed to
the processor, so a supervisor can tell when one is in flight; with `--announce-writes` also one line
`write OPERATION` after each DynamoDB write that succeeded, so it can tell when a batch has written something
(and kill the process then, between two writes).
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Mapping
from typing import Any

import boto3

from contract.config import load_settings
from contract.dynamodb import client_of
from contract.tables import AnalyticsItem, InterimRequest
from cv_analytics.local.event_source import EventSourceMapping
from cv_analytics.local.request_meter import DYNAMODB_WRITES
from processor import handler
from processor.runtime import build_runtime
from processor.settings import ProcessorSettings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("queue_url")
    parser.add_argument("--visibility-timeout", type=int, default=None, help="seconds; default: the queue's")
    parser.add_argument("--until-empty", action="store_true", help="stop once the queue is empty")
    parser.add_argument(
        "--announce-writes", action="store_true", help="print `write OPERATION` after each DynamoDB write"
    )
    arguments = parser.parse_args(argv)

    settings = load_settings(ProcessorSettings)
    runtime = build_runtime(settings)
    if arguments.announce_writes:
        announce_writes()

    def announced(event: dict[str, Any], context: Any) -> Mapping[str, Any] | None:
        print(f"batch {len(event['Records'])}", flush=True)
        response: Mapping[str, Any] = handler.handle(event, context, runtime)
        return response

    sqs = boto3.client("sqs", endpoint_url=settings.aws_endpoint_url, region_name=settings.aws_region)
    mapping = EventSourceMapping(
        sqs, arguments.queue_url, announced, visibility_timeout=arguments.visibility_timeout
    )
    if arguments.until_empty:
        mapping.drain()
    else:
        mapping.run(threading.Event())


def announce_writes() -> None:
    """Print `write OPERATION` after every successful DynamoDB write of the processor's table clients."""

    def after_call(http_response: Any, model: Any, **_: Any) -> None:
        if model.name in DYNAMODB_WRITES and http_response.status_code == 200:
            print(f"write {model.name}", flush=True)

    for table in (InterimRequest, AnalyticsItem):
        client_of(table).meta.events.register("after-call.dynamodb", after_call)


if __name__ == "__main__":
    main()
