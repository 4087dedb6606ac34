"""Arming the silent-Worker alarm: refused until a publisher key has sent, then the alarm's actions are on."""

from __future__ import annotations

import boto3
from moto import mock_aws

from cv_analytics import silent_alarm

REGION = "eu-west-2"


@mock_aws
def test_the_alarm_is_armed_only_after_a_publisher_key_sent_to_the_queue() -> None:
    iam = boto3.client("iam", region_name=REGION)
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    queue = sqs.create_queue(QueueName="events.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    cloudwatch.put_metric_alarm(
        AlarmName="worker-silent",
        Namespace="AWS/SQS",
        MetricName="NumberOfMessagesSent",
        Statistic="Sum",
        Period=3600,
        EvaluationPeriods=24,
        Threshold=1,
        ComparisonOperator="LessThanThreshold",
        ActionsEnabled=False,
    )
    iam.create_user(UserName="publisher")
    key = iam.create_access_key(UserName="publisher")["AccessKey"]

    assert silent_alarm.arm(iam, cloudwatch, user="publisher", alarm="worker-silent") is None
    (alarm,) = cloudwatch.describe_alarms(AlarmNames=["worker-silent"])["MetricAlarms"]
    assert alarm["ActionsEnabled"] is False

    publisher = boto3.client(
        "sqs",
        region_name=REGION,
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )
    publisher.send_message(QueueUrl=queue, MessageBody="{}", MessageGroupId="g", MessageDeduplicationId="d")
    assert silent_alarm.arm(iam, cloudwatch, user="publisher", alarm="worker-silent") is not None
    (alarm,) = cloudwatch.describe_alarms(AlarmNames=["worker-silent"])["MetricAlarms"]
    assert alarm["ActionsEnabled"] is True
