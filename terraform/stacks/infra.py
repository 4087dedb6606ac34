"""infra-<env>: queue and DLQ, the two tables, alarms and the edge publisher; outputs for the functions."""

from __future__ import annotations

from cdktn import TerraformOutput
from constructs import Construct

from contract.resources import queue_with_dlq, table_names
from contract.tables import AnalyticsItem, InterimRequest
from modules.alarms import AlarmSpec, AlertTopic, AlertTopicSpec, SilenceAlarmSpec
from modules.budget import BudgetSpec, MonthlyCostBudget
from modules.edge_publisher import EdgePublisher, EdgePublisherSpec
from modules.queue import QueueWithDlq
from modules.tables import ModelTable, TableSpec
from terraform.environment import PROJECT, Environment
from terraform.outputs import InfraOutputs
from terraform.stacks.base import ProjectStack


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
        protected = env.deletion_protection
        interim = ModelTable(
            self, "query-events", TableSpec(InterimRequest, names["QUERY_EVENTS_TABLE"], protected)
        )
        analytics = ModelTable(
            self, "analytics", TableSpec(AnalyticsItem, names["ANALYTICS_TABLE"], protected)
        )
        alerts = AlertTopic(self, "alerts", AlertTopicSpec(name=f"{prefix}-alerts", email=env.alert_email))
        for spec in self.alarm_specs(queues):
            alerts.alarm(spec)
        alerts.silence_alarm(
            SilenceAlarmSpec(
                name=silent_alarm_name(env), queue_name=queues.queue.name, hours=env.silent_worker_alarm_hours
            )
        )
        MonthlyCostBudget(
            self,
            "budget",
            BudgetSpec(
                name=f"{prefix}-monthly-cost",
                limit_usd=env.monthly_budget_usd,
                email=env.alert_email,
                tag_key="Project",
                tag_value=PROJECT,
            ),
        )
        publisher = EdgePublisher(
            self, "edge-publisher", EdgePublisherSpec(name=publisher_name(env), queue_arn=queues.queue.arn)
        )

        declared = InfraOutputs(
            queue_arn=queues.queue.arn,
            queue_url=queues.queue.url,
            dlq_arn=queues.dead_letter.arn,
            dlq_url=queues.dead_letter.url,
            query_events_table=interim.table.name,
            query_events_table_arn=interim.table.arn,
            analytics_table=analytics.table.name,
            analytics_table_arn=analytics.table.arn,
            alert_topic_arn=alerts.topic.arn,
            edge_publisher_user=publisher.user.name,
        )
        descriptions = InfraOutputs.descriptions()
        for name, value in declared.values().items():
            TerraformOutput(self, name, value=value, description=descriptions[name])

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
        for function in ("processor", "sweep", "reporter", "rollup"):
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
