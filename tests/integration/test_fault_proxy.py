"""The throttling proxy gives DynamoDB's real throttling error to a share of calls and relays the rest."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from cv_analytics.local.moto_server import MotoServer
from tests.support.fault_proxy import running_fault_proxy

NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})


def _create_table(endpoint: str) -> None:
    boto3.client("dynamodb", endpoint_url=endpoint).create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def test_everything_passes_through_when_nothing_is_throttled(moto_server: MotoServer) -> None:
    with running_fault_proxy(moto_server.endpoint_url, share=0.0) as proxy:
        _create_table(proxy.endpoint_url)
        dynamodb = boto3.client("dynamodb", endpoint_url=proxy.endpoint_url)
        dynamodb.put_item(TableName="t", Item={"k": {"S": "a"}})
        assert dynamodb.get_item(TableName="t", Key={"k": {"S": "a"}})["Item"] == {"k": {"S": "a"}}
        # Other services go through untouched and uncounted.
        boto3.client("sqs", endpoint_url=proxy.endpoint_url).create_queue(QueueName="q")
    assert proxy.counts.forwarded == {"CreateTable": 1, "PutItem": 1, "GetItem": 1}
    assert proxy.counts.total_throttled == 0


def test_a_throttled_call_gets_dynamodbs_own_error(moto_server: MotoServer) -> None:
    _create_table(moto_server.endpoint_url)
    with running_fault_proxy(moto_server.endpoint_url, share=1.0) as proxy:
        dynamodb = boto3.client("dynamodb", endpoint_url=proxy.endpoint_url, config=NO_RETRIES)
        with pytest.raises(ClientError) as caught:
            dynamodb.put_item(TableName="t", Item={"k": {"S": "a"}})
    assert caught.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert proxy.counts.throttled == {"PutItem": 1}
    assert "Item" not in boto3.client("dynamodb").get_item(TableName="t", Key={"k": {"S": "a"}})


def test_the_share_is_honoured_and_repeatable_for_a_seed(moto_server: MotoServer) -> None:
    _create_table(moto_server.endpoint_url)
    outcomes: list[list[bool]] = []
    for _ in range(2):
        with running_fault_proxy(moto_server.endpoint_url, share=0.3, seed=7) as proxy:
            dynamodb = boto3.client("dynamodb", endpoint_url=proxy.endpoint_url, config=NO_RETRIES)
            run = []
            for index in range(200):
                try:
                    dynamodb.put_item(TableName="t", Item={"k": {"S": str(index)}})
                    run.append(True)
                except ClientError:
                    run.append(False)
            outcomes.append(run)
    assert outcomes[0] == outcomes[1]
    throttled = outcomes[0].count(False)
    assert 40 <= throttled <= 80, throttled
