"""Lambda entry points: `handle` for the SQS FIFO event source mapping, `sweep` for the orphan schedule.

Thin on purpose: settings, tables, logger and metrics are set up once per cold start, and each entry point
only adapts Lambda's event to the correlator (`processor.service`) and counts what it did.

Metrics (EMF, namespace POWERTOOLS_METRICS_NAMESPACE): `Received` counts every delivery of every message
(redeliveries included); `Completed`, `Orphaned`, `Healed` and `Quarantined` count records at the moment
their conditional write succeeds, so a retry never counts one twice; `DuplicatesIgnored` counts deliveries
that changed nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from contract.config import load_settings
from contract.errors import ContractError
from contract.tables import bind_tables
from processor.repository import Repository
from processor.service import Correlator, Message, Outcome
from processor.settings import ProcessorSettings

# Stop the sweep this long before the Lambda times out; the next run carries on from the oldest item. A
# fixed margin alone would stop a function whose timeout is no longer than it before its first item, every
# run, silently: the margin is at most a fifth of the time the run starts with.
SWEEP_TIME_MARGIN_MS = 10_000
SWEEP_TIME_MARGIN_SHARE = 5


def sweep_margin_ms(remaining_at_start_ms: int) -> int:
    """How long before the timeout a sweep that starts with this much time stops taking items."""
    return min(SWEEP_TIME_MARGIN_MS, remaining_at_start_ms // SWEEP_TIME_MARGIN_SHARE)


METRIC_OF_OUTCOME = {
    Outcome.COMPLETED: "Completed",
    Outcome.ORPHANED: "Orphaned",
    Outcome.HEALED: "Healed",
    Outcome.QUARANTINED: "Quarantined",
    Outcome.DUPLICATE: "DuplicatesIgnored",
}


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class Runtime:
    """What a cold start sets up once and every invocation reuses."""

    settings: ProcessorSettings
    correlator: Correlator


def _build(settings: ProcessorSettings) -> Runtime:
    bind_tables(settings)
    repository = Repository(interim_ttl_seconds=settings.interim_ttl_seconds)
    return Runtime(settings, Correlator(repository, shards=settings.analytics_write_shards, clock=now_ms))


def configure(settings: ProcessorSettings) -> Correlator:
    """Bind the tables and build the correlator again (local runs and tests that change settings)."""
    fresh = _build(settings)
    runtime.settings, runtime.correlator = fresh.settings, fresh.correlator
    return runtime.correlator


runtime = _build(load_settings(ProcessorSettings))
logger = Logger(service=runtime.settings.service_name, level=runtime.settings.log_level)
metrics = Metrics(namespace=runtime.settings.metrics_namespace, service=runtime.settings.service_name)
_batch = SqsFifoPartialProcessor(skip_group_on_error=True)


def _count(outcome: Outcome) -> None:
    name = METRIC_OF_OUTCOME.get(outcome)
    if name is not None:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


def _log_keys(message_id: str) -> dict[str, Any]:
    """Keys every log line about a message carries: its id, and its request and session when it parsed."""
    keys: dict[str, Any] = {"message_id": message_id}
    parsed = runtime.correlator.batch.parsed.get(message_id)
    if parsed is not None and not isinstance(parsed, ContractError):
        keys |= {"request_id": parsed.request_id, "session_id": parsed.session_id}
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


def _process_record(record: SQSRecord) -> str:
    """Process one message; a poison message returns normally (acknowledged), a transient error raises."""
    metrics.add_metric(name="Received", unit=MetricUnit.Count, value=1)
    message = _message(record.raw_event)
    with logger.append_context_keys(**_log_keys(record.message_id)):
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
def handle(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    """SQS FIFO batch -> `{"batchItemFailures": [...]}`; a failure skips the rest of its group only."""
    runtime.correlator.begin_batch(_message(record) for record in event.get("Records", []))
    return process_partial_response(
        event=event, record_handler=_process_record, processor=_batch, context=context
    )


@metrics.log_metrics
@logger.inject_lambda_context
def sweep(event: dict[str, Any], context: Any) -> dict[str, int]:
    """Record every request pending longer than ORPHAN_AFTER_SECONDS: an orphan, or complete if it can be.

    Items come from the sparse pending index, oldest first. A failing item does not stop the others; the run
    raises at the end so the failure shows (and the scheduler's retry, being idempotent, is harmless).
    """
    cutoff = now_ms() - runtime.settings.orphan_after_seconds * 1000
    counts = {outcome.value: 0 for outcome in Outcome} | {"failed": 0}
    margin_ms = sweep_margin_ms(context.get_remaining_time_in_millis()) if context is not None else 0
    for state in runtime.correlator.store.pending_before(cutoff):
        if context is not None and context.get_remaining_time_in_millis() < margin_ms:
            logger.warning("sweep stopped early to finish before the timeout", extra={"counts": counts})
            break
        try:
            outcome = runtime.correlator.record_orphan(state)
        except Exception:
            counts["failed"] += 1
            logger.exception("could not sweep a pending request", request_id=state.request_id)
            continue
        counts[outcome.value] += 1
    # One value per metric per run, zeros included: a continuous series that alarms can rely on.
    for outcome in (Outcome.ORPHANED, Outcome.COMPLETED, Outcome.HEALED, Outcome.DUPLICATE):
        metrics.add_metric(
            name=METRIC_OF_OUTCOME[outcome], unit=MetricUnit.Count, value=counts[outcome.value]
        )
    logger.info("sweep finished", extra={"counts": counts})
    if counts["failed"]:
        raise RuntimeError(f"{counts['failed']} pending requests could not be swept; see the log")
    return counts
