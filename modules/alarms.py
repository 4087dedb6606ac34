"""CloudWatch alarms that e-mail the owner through one SNS topic."""

from __future__ import annotations

from dataclasses import dataclass

from cdktn import TerraformResourceLifecycle
from cdktn_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from cdktn_provider_aws.sns_topic import SnsTopic
from cdktn_provider_aws.sns_topic_subscription import SnsTopicSubscription
from constructs import Construct

# The silent-Worker alarm looks at whole hours: CloudWatch allows at most 7 days of evaluation periods of this
# length, which is the environment file's upper bound for the silence.
SILENCE_PERIOD_SECONDS = 3600


@dataclass(frozen=True)
class AlarmSpec:
    """Alarm when the metric's `statistic` over `period_seconds` is above `threshold`."""

    name: str
    description: str
    namespace: str
    metric: str
    dimensions: dict[str, str]
    statistic: str
    threshold: float
    period_seconds: int = 300


@dataclass(frozen=True)
class AlertTopicSpec:
    name: str
    email: str  # subscribed to the topic; the owner confirms the subscription once, by e-mail


@dataclass(frozen=True)
class SilenceAlarmSpec:
    """Alarm `name` when queue `queue_name` was sent nothing for `hours` whole hours in a row."""

    name: str
    queue_name: str
    hours: int


class AlertTopic(Construct):
    """The SNS topic every alarm notifies, with the owner's e-mail subscribed (confirmed once by e-mail).

    Outputs: `topic` (its `arn` is what every alarm notifies); `alarm` and `silence_alarm` add alarms to it.
    """

    def __init__(self, scope: Construct, id_: str, spec: AlertTopicSpec) -> None:
        super().__init__(scope, id_)
        self.topic = SnsTopic(self, "topic", name=spec.name)
        SnsTopicSubscription(self, "email", topic_arn=self.topic.arn, protocol="email", endpoint=spec.email)

    def alarm(self, spec: AlarmSpec) -> CloudwatchMetricAlarm:
        # Missing data is not breaching: no invocations or an empty DLQ publish no data points at all.
        return CloudwatchMetricAlarm(
            self,
            spec.name,
            alarm_name=spec.name,
            alarm_description=spec.description,
            namespace=spec.namespace,
            metric_name=spec.metric,
            dimensions=spec.dimensions,
            statistic=spec.statistic,
            period=spec.period_seconds,
            evaluation_periods=1,
            threshold=spec.threshold,
            comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=[self.topic.arn],
            ok_actions=[self.topic.arn],
        )

    def silence_alarm(self, spec: SilenceAlarmSpec) -> CloudwatchMetricAlarm:
        """Alarm when the queue was sent no message for `hours` whole hours: the Worker stopped sending.

        Each hour's `NumberOfMessagesSent` sum must be below 1 for `hours` hours in a row, and an hour without
        a data point counts as silent too (SQS publishes nothing for a queue nobody touches). The alarm is
        created with its actions disabled, since a fresh environment is silent until its first event: the
        operator's `./taskw arm-silent-alarm` enables them once the Worker has sent, and Terraform leaves that
        switch alone afterwards.
        """
        hours = spec.hours
        return CloudwatchMetricAlarm(
            self,
            spec.name,
            alarm_name=spec.name,
            alarm_description=(
                f"No event reached the queue for {hours} hours: the Worker stopped sending "
                "(a rotated secret, a bad deploy) or nobody used the chatbot."
            ),
            namespace="AWS/SQS",
            metric_name="NumberOfMessagesSent",
            dimensions={"QueueName": spec.queue_name},
            statistic="Sum",
            period=SILENCE_PERIOD_SECONDS,
            evaluation_periods=hours,
            datapoints_to_alarm=hours,
            threshold=1,
            comparison_operator="LessThanThreshold",
            treat_missing_data="breaching",
            actions_enabled=False,
            alarm_actions=[self.topic.arn],
            ok_actions=[self.topic.arn],
            lifecycle=TerraformResourceLifecycle(ignore_changes=["actions_enabled"]),
        )
