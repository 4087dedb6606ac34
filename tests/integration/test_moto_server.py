"""The local AWS the integration tests and the demo run on: a real moto server process."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from cv_analytics.local.moto_server import MotoServer


def test_boto3_reaches_the_server_through_aws_endpoint_url(moto_server: MotoServer) -> None:
    sqs = boto3.client("sqs")
    sqs.create_queue(QueueName="probe.fifo", Attributes={"FifoQueue": "true"})
    assert any(url.endswith("/probe.fifo") for url in sqs.list_queues()["QueueUrls"])


def test_reset_forgets_everything(moto_server: MotoServer) -> None:
    boto3.client("sqs").create_queue(QueueName="gone")
    moto_server.reset()
    assert "QueueUrls" not in boto3.client("sqs").list_queues()


def test_signatures_are_checked_once_required(moto_server: MotoServer) -> None:
    iam = boto3.client("iam")
    iam.create_user(UserName="publisher")
    key = iam.create_access_key(UserName="publisher")["AccessKey"]
    iam.put_user_policy(
        UserName="publisher",
        PolicyName="list-queues",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "sqs:ListQueues", "Resource": "*"}],
            }
        ),
    )
    moto_server.require_signatures()
    try:
        trusted = boto3.client(
            "sqs", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
        )
        trusted.list_queues()
        forged = boto3.client(
            "sqs", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key="not-the-secret"
        )
        with pytest.raises(ClientError) as caught:
            forged.list_queues()
        # moto answers a bad signature with 403 and an XML body the JSON protocol cannot parse a code from.
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    finally:
        moto_server.require_signatures(enabled=False)
