"""The specs the local runtime shares with the stacks, the settings-to-environment rule, and rollback."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from contract.config import setting
from contract.resources import FOURTEEN_DAYS_SECONDS, queue_with_dlq
from processor.settings import ProcessorSettings
from terraform.environment import Environment
from terraform.rollback import rollback
from terraform.stacks.functions import function_environment


@mock_aws
def test_queue_spec_builds_the_same_fifo_queue_and_dlq_on_a_local_aws() -> None:
    spec = queue_with_dlq("cv-analytics-local", max_receive_count=3, consumer_timeout_seconds=30)
    sqs = boto3.client("sqs", region_name="eu-west-2")
    dlq_url = sqs.create_queue(QueueName=spec.dead_letter.name, Attributes=spec.dead_letter.attributes())[
        "QueueUrl"
    ]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    queue_url = sqs.create_queue(
        QueueName=spec.queue.name,
        Attributes={**spec.queue.attributes(), "RedrivePolicy": spec.redrive_policy(dlq_arn)},
    )["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert attributes["FifoQueue"] == "true"
    assert attributes["VisibilityTimeout"] == "180"
    assert json.loads(attributes["RedrivePolicy"]) == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}
    dlq_attributes = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["All"])["Attributes"]
    assert dlq_attributes["MessageRetentionPeriod"] == str(FOURTEEN_DAYS_SECONDS)
    assert spec.queue.name.endswith(".fifo")
    assert spec.dead_letter.name.endswith(".fifo")
    with pytest.raises(ValueError, match="max_receive_count"):
        queue_with_dlq("x", max_receive_count=0, consumer_timeout_seconds=30)


@dataclass(frozen=True)
class _GrownSettings(ProcessorSettings):
    """A handler that starts reading one more variable."""

    batch_limit: int = setting("BATCH_LIMIT", 25, help="a new setting")


def test_a_new_setting_reaches_the_lambda_and_an_unknown_one_is_refused() -> None:
    config = Environment.load("dev").processor
    infra = {"QUERY_EVENTS_TABLE": "q", "ANALYTICS_TABLE": "a", "DLQ_URL": "not read by the processor"}
    grown = function_environment(_GrownSettings, config, infra)
    assert grown["BATCH_LIMIT"] == "25"
    assert grown["QUERY_EVENTS_TABLE"] == "q"
    assert "DLQ_URL" not in grown
    typo = type(config)(**{**config.__dict__, "settings": {**config.settings, "ORPHAN_AFTER_SECOND": "5"}})
    with pytest.raises(ValueError, match="ORPHAN_AFTER_SECOND"):
        function_environment(ProcessorSettings, typo, infra)


def _zip(text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("processor/handler.py", text)
    return buffer.getvalue()


def _publish(client: Any, name: str, role: str, code: str) -> str:
    if not [f for f in client.list_functions()["Functions"] if f["FunctionName"] == name]:
        client.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="processor.handler.handle",
            Code={"ZipFile": _zip(code)},
        )
    else:
        client.update_function_code(FunctionName=name, ZipFile=_zip(code))
    version: str = client.publish_version(FunctionName=name)["Version"]
    return version


@mock_aws
def test_rollback_moves_both_processor_aliases_to_the_same_code() -> None:
    iam = boto3.client("iam", region_name="eu-west-2")
    role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    client = boto3.client("lambda", region_name="eu-west-2")
    # The sweep got one extra publish, so version numbers no longer line up.
    _publish(client, "sweep", role, "extra = 0")
    first = {name: _publish(client, name, role, "release = 1") for name in ("processor", "sweep")}
    latest = {name: _publish(client, name, role, "release = 2") for name in ("processor", "sweep")}
    for name, version in latest.items():
        client.create_alias(FunctionName=name, Name="live", FunctionVersion=version)
    assert first["processor"] != first["sweep"]

    moved = rollback(client, ["processor", "sweep"], first["processor"])

    assert moved == first
    for name in ("processor", "sweep"):
        assert client.get_alias(FunctionName=name, Name="live")["FunctionVersion"] == first[name]
