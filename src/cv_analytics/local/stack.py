"""The whole local stack: moto server, the resources the infrastructure defines, and the example Worker.

Resources come from the same definitions the infrastructure deploys (`contract.resources` for the queue and
its DLQ and the table names, the PynamoDB models for the tables), so the demo runs against what AWS would
hold. The processor and the reporter read their settings from this process's environment, exactly the
variables their Lambdas get; the stack sets them while it runs and puts the environment back afterwards.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import boto3

from contract.config import load_settings
from contract.resources import table_names
from contract.tables import bind_tables
from cv_analytics.local.moto_server import LOCAL_CREDENTIALS, MotoServer, running_moto_server
from cv_analytics.local.resources import EventQueue, create_event_queue, create_tables
from cv_analytics.local.worker import ExampleWorker, running_example_worker
from processor.settings import ProcessorSettings

if TYPE_CHECKING:
    from mypy_boto3_ses import SESClient
    from mypy_boto3_sqs import SQSClient

NAME_PREFIX = "cv-analytics-local"
REGION = "eu-west-2"
# The environment file the local stack provisions from: the same one `terraform/` deploys dev from.
DEV_ENVIRONMENT = Path(__file__).resolve().parents[3] / "terraform" / "environments" / "dev.json"
# Locally a failed message comes back after seconds, not the deployed function's timeout.
LOCAL_CONSUMER_TIMEOUT_SECONDS = 5
# Only warnings from the functions: the demo's own output is what the user reads.
QUIET_FUNCTIONS = {"POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true"}


@dataclass(frozen=True)
class DevDefinitions:
    """What the dev environment file says about the resources the local stack creates."""

    max_receive_count: int
    ses_identity: str
    report_sender: str
    report_recipients: str

    @classmethod
    def load(cls, path: Path = DEV_ENVIRONMENT) -> DevDefinitions:
        data = json.loads(path.read_text(encoding="utf-8"))
        reporter = data["reporter"]
        return cls(
            max_receive_count=int(data["max_receive_count"]),
            ses_identity=str(reporter["ses_identity"]),
            report_sender=str(reporter["settings"]["REPORT_SENDER"]),
            report_recipients=str(reporter["settings"]["REPORT_RECIPIENTS"]),
        )


@dataclass(frozen=True)
class LocalStack:
    server: MotoServer
    queue: EventQueue
    sqs: SQSClient
    ses: SESClient
    worker: ExampleWorker
    environment: dict[str, str]


@contextmanager
def restored_environment() -> Iterator[None]:
    """The stack points this process at its moto server; the environment is put back afterwards."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


# How long the example Worker's stand-in model takes to answer a question it has not answered before.
MODEL_DELAY_MS = "300-1500"


def function_environment(server: MotoServer, queue: EventQueue, dev: DevDefinitions) -> dict[str, str]:
    """The variables the processor and the reporter Lambdas would get from the infrastructure."""
    return {
        **server.environment(REGION),
        **table_names(NAME_PREFIX),
        **QUIET_FUNCTIONS,
        "DLQ_URL": queue.dead_letter_url,
        "REPORT_SENDER": dev.report_sender,
        "REPORT_RECIPIENTS": dev.report_recipients,
    }


def worker_bindings(queue: EventQueue, *, demo_switches: bool) -> dict[str, str]:
    """The Worker's env: its analytics secrets (moto accepts any key), the stand-in model's answer time (and
    cache) so the report's speed figures measure something, and, for a replay, the demo switches."""
    bindings = {
        "AWS_SQS_URL": queue.url,
        "AWS_REGION": REGION,
        **LOCAL_CREDENTIALS,
        "DEMO_MODEL_DELAY_MS": MODEL_DELAY_MS,
    }
    if demo_switches:
        bindings |= {"DEMO_ACCEPT_PAST_TIME": "true", "DEMO_ALLOW_ISOLATE_CRASH": "true"}
    return bindings


@contextmanager
def running_stack(*, log_dir: Path, demo_switches: bool = True) -> Iterator[LocalStack]:
    """Start moto server, provision, start the Worker; everything stops when the block ends, however."""
    log_dir.mkdir(parents=True, exist_ok=True)
    with restored_environment(), running_moto_server(log=log_dir / "moto.log") as server:
        session = boto3.Session(
            aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=REGION,
        )
        sqs = session.client("sqs", endpoint_url=server.endpoint_url)
        ses = session.client("ses", endpoint_url=server.endpoint_url)
        dev = DevDefinitions.load()
        queue = create_event_queue(
            sqs,
            NAME_PREFIX,
            max_receive_count=dev.max_receive_count,
            consumer_timeout_seconds=LOCAL_CONSUMER_TIMEOUT_SECONDS,
        )
        environment = function_environment(server, queue, dev)
        os.environ.update(environment)
        bind_tables(load_settings(ProcessorSettings))
        create_tables()
        ses.verify_email_identity(EmailAddress=dev.ses_identity)
        bindings = worker_bindings(queue, demo_switches=demo_switches)
        with running_example_worker(bindings, log=log_dir / "worker.log") as worker:
            yield LocalStack(server, queue, sqs, ses, worker, environment)
