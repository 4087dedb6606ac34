"""infra-<env>: queue and DLQ, the two tables, alarms and the edge publisher; outputs for the functions."""

from __future__ import annotations

from cdktn import TerraformOutput
from constructs import Construct

from contract.resources import queue_with_dlq, table_names
from contract.tables import AnalyticsItem, InterimRequest
from modules.alarms import AlarmSpec, AlertTopic
from modules.budget import MonthlyCostBudget
from modules.edge_publisher import EdgePublisher
from modules.queue import QueueWithDlq
from modules.tables import ModelTable
from terraform.environment import PROJECT, Environment
from terraform.stacks.base import ProjectStack

# What the function stacks read through remote state.
OUTPUTS = (
    "queue_arn",
    "queue_url",
    "dlq_arn",
    "dlq_url",
    "query_events_table",
    "query_events_table_arn",
    "analytics_table",
    "analytics_table_arn",
    "alert_topic_arn",
)


def publisher_name(env: Environment) -> str:
    """The edge publisher's IAM user, whose keys the Worker holds."""
    return f"{env.name_prefix}-edge-publisher"


def silent_alarm_name(env: Environment) -> str:
    """The silent-Worker alarm's name, which `./taskw arm-silent-alarm` enables the actions of."""
    return f"{env.name_prefix}-worker-silent"


class InfraStack(ProjectStack):
    kind = "infra"

    def __init__(self, scope: Construct, env: Environment) -> None:
        super().__init__(scope, env)
        self.use_remote_backend()
        prefix = env.name_prefix
        queues = QueueWithDlq(
            self,
            "events",
            queue_with_dlq(
                prefix,
                max_receive_count=env.max_receive_count,
                consumer_timeout_seconds=env.processor.timeout_seconds,
            ),
        )
        names = table_names(prefix)
        interim = ModelTable(
            self,
            "query-events",
            model=InterimRequest,
            name=names["QUERY_EVENTS_TABLE"],
            deletion_protection=env.deletion_protection,
        )
        analytics = ModelTable(
            self,
            "analytics",
            model=AnalyticsItem,
            name=names["ANALYTICS_TABLE"],
            deletion_protection=env.deletion_protection,
        )
        alerts = AlertTopic(self, "alerts", name=f"{prefix}-alerts", email=env.alert_email)
        for spec in self.alarm_specs(queues):
            alerts.alarm(spec)
        alerts.silence_alarm(
            name=silent_alarm_name(env), queue_name=queues.queue.name, hours=env.silent_worker_alarm_hours
        )
        MonthlyCostBudget(
            self,
            "budget",
            name=f"{prefix}-monthly-cost",
            limit_usd=env.monthly_budget_usd,
            email=env.alert_email,
            tag_key="Project",
            tag_value=PROJECT,
        )
        publisher = EdgePublisher(
            self, "edge-publisher", name=publisher_name(env), queue_arn=queues.queue.arn
        )

        values = {
            "queue_arn": queues.queue.arn,
            "queue_url": queues.queue.url,
            "dlq_arn": queues.dead_letter.arn,
            "dlq_url": queues.dead_letter.url,
            "query_events_table": interim.table.name,
            "query_events_table_arn": interim.table.arn,
            "analytics_table": analytics.table.name,
            "analytics_table_arn": analytics.table.arn,
            "alert_topic_arn": alerts.topic.arn,
        }
        for name in OUTPUTS:
            TerraformOutput(self, name, value=values[name])
        TerraformOutput(self, "edge_publisher_user", value=publisher.user.name)

    def alarm_specs(self, queues: QueueWithDlq) -> list[AlarmSpec]:
        env = self.env
        prefix = env.name_prefix
        specs = [
            AlarmSpec(
                name=f"{prefix}-dlq-not-empty",
                description="Events failed processing maxReceiveCount times and wait in the DLQ.",
                namespace="AWS/SQS",
                metric="ApproximateNumberOfMessagesVisible",
                dimensions={"QueueName": queues.dead_letter.name},
                statistic="Maximum",
                threshold=0,
            ),
            AlarmSpec(
                name=f"{prefix}-oldest-message-age",
                description="The processor is not keeping up: the oldest event has waited too long.",
                namespace="AWS/SQS",
                metric="ApproximateAgeOfOldestMessage",
                dimensions={"QueueName": queues.queue.name},
                statistic="Maximum",
                threshold=env.oldest_message_alarm_seconds,
            ),
        ]
        for function in ("processor", "sweep", "reporter"):
            specs.append(
                AlarmSpec(
                    name=f"{prefix}-{function}-errors",
                    description=f"The {function} function failed (an unhandled error or a timeout).",
                    namespace="AWS/Lambda",
                    metric="Errors",
                    dimensions={"FunctionName": env.function_name(function)},
                    statistic="Sum",
                    threshold=0,
                )
            )
        return specs
