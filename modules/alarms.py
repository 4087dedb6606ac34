"""CloudWatch alarms that e-mail the owner through one SNS topic."""

from __future__ import annotations

from dataclasses import dataclass

from cdktn_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from cdktn_provider_aws.sns_topic import SnsTopic
from cdktn_provider_aws.sns_topic_subscription import SnsTopicSubscription
from constructs import Construct


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


class AlertTopic(Construct):
    """The SNS topic every alarm notifies, with the owner's e-mail subscribed (confirmed once by e-mail)."""

    def __init__(self, scope: Construct, id_: str, *, name: str, email: str) -> None:
        super().__init__(scope, id_)
        self.topic = SnsTopic(self, "topic", name=name)
        SnsTopicSubscription(self, "email", topic_arn=self.topic.arn, protocol="email", endpoint=email)

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
