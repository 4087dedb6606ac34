"""Lambda entry points: `handle` for the SQS FIFO event source mapping, `sweep` for the orphan schedule.

Thin on purpose: each entry point adapts Lambda's event to the correlator (`processor.service`) or the
sweep (`processor.sweep`), logs and counts what it did. What they run on, settings, store and clock, is a
`processor.runtime.Runtime`: the Lambda's own, built once from its environment, unless the caller passes
one it built (a test's clock, a benchmark's in-memory store, the local runtime's replayed week).

Metrics (EMF, namespace POWERTOOLS_METRICS_NAMESPACE): `Received` counts every delivery of every message
(redeliveries included); `Completed`, `Orphaned`, `Healed` and `Quarantined` count records at the moment
their conditional write succeeds, so a retry never counts one twice; `DuplicatesIgnored` counts deliveries
that changed nothing.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from contract.config import load_settings
from processor.runtime import Runtime, default_runtime
from processor.service import Message, Outcome
from processor.settings import ProcessorSettings
from processor.sweep import FAILED, sweep_pending

METRIC_OF_OUTCOME = {
    Outcome.COMPLETED: "Completed",
    Outcome.ORPHANED: "Orphaned",
    Outcome.HEALED: "Healed",
    Outcome.QUARANTINED: "Quarantined",
    Outcome.DUPLICATE: "DuplicatesIgnored",
}

_STARTUP = load_settings(ProcessorSettings)  # what the logger and metrics need at a cold start
logger = Logger(service=_STARTUP.service_name, level=_STARTUP.log_level)
metrics = Metrics(namespace=_STARTUP.metrics_namespace, service=_STARTUP.service_name)
_batch = SqsFifoPartialProcessor(skip_group_on_error=True)


def _count(outcome: Outcome) -> None:
    name = METRIC_OF_OUTCOME.get(outcome)
    if name is not None:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


def _log_keys(runtime: Runtime, message_id: str) -> dict[str, Any]:
    """Keys every log line about a message carries: its id, and its request and session when it parsed."""
    keys: dict[str, Any] = {"message_id": message_id}
    event = runtime.correlator.event_of(message_id)
    if event is not None:
        keys |= {"request_id": event.request_id, "session_id": event.session_id}
    return keys


def _message(record: dict[str, Any]) -> Message:
    """The parts of a Lambda SQS record the correlator uses."""
    attributes = record.get("attributes", {})
    first_received = attributes.get("ApproximateFirstReceiveTimestamp") or attributes.get("SentTimestamp")
    return Message(
        record["messageId"],
        record["body"],
        attributes.get("MessageGroupId"),
        int(first_received) if first_received else None,
    )


def _process_record(runtime: Runtime, record: SQSRecord) -> str:
    """Process one message; a poison message returns normally (acknowledged), a transient error raises."""
    metrics.add_metric(name="Received", unit=MetricUnit.Count, value=1)
    message = _message(record.raw_event)
    with logger.append_context_keys(**_log_keys(runtime, record.message_id)):
        try:
            result = runtime.correlator.process(message)
        except Exception:
            logger.exception("processing failed: the message and the rest of its group will be retried")
            raise
        _count(result.outcome)
        if result.problem is not None:
            logger.warning(
                "quarantined a message that breaks the event contract",
                message_group_id=message.group_id,
                path=result.problem.path,
                reason=result.problem.reason,
                first_time=result.outcome is Outcome.QUARANTINED,
            )
        elif result.outcome is Outcome.HEALED:
            logger.info("healed an orphan into a complete record")
        else:
            logger.debug("processed an event", outcome=result.outcome.value)
    return result.outcome.value


@metrics.log_metrics
@logger.inject_lambda_context
def handle(event: dict[str, Any], context: Any, runtime: Runtime | None = None) -> PartialItemFailureResponse:
    """SQS FIFO batch -> `{"batchItemFailures": [...]}`; a failure skips the rest of its group only."""
    runtime = runtime or default_runtime()
    runtime.correlator.begin_batch(_message(record) for record in event.get("Records", []))
    return process_partial_response(
        event=event, record_handler=partial(_process_record, runtime), processor=_batch, context=context
    )


@metrics.log_metrics
@logger.inject_lambda_context
def sweep(event: dict[str, Any], context: Any, runtime: Runtime | None = None) -> dict[str, int]:
    """Record every request pending longer than ORPHAN_AFTER_SECONDS (see `processor.sweep`); raises at the
    end when an item failed, so the run shows as an error."""
    runtime = runtime or default_runtime()
    cutoff = runtime.correlator.clock() - runtime.settings.orphan_after_seconds * 1000

    def failed(request_id: str) -> None:
        logger.exception("could not sweep a pending request", request_id=request_id)

    remaining = context.get_remaining_time_in_millis if context is not None else None
    run = sweep_pending(runtime.correlator, cutoff, remaining_ms=remaining, on_failure=failed)
    counts = run.counts
    if run.stopped_early:
        logger.warning("sweep stopped early to finish before the timeout", extra={"counts": counts})
    # One value per metric per run, zeros included: a continuous series that alarms can rely on.
    for outcome in (Outcome.ORPHANED, Outcome.COMPLETED, Outcome.HEALED, Outcome.DUPLICATE):
        metrics.add_metric(
            name=METRIC_OF_OUTCOME[outcome], unit=MetricUnit.Count, value=counts[outcome.value]
        )
    logger.info("sweep finished", extra={"counts": counts})
    if counts[FAILED]:
        raise RuntimeError(f"{counts[FAILED]} pending requests could not be swept; see the log")
    return counts
