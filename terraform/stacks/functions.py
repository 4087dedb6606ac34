"""processor-<env> and reporter-<env>: each function deploys and rolls back on its own.

They read the infra stack's outputs through S3 remote state, never through a shared Terraform graph, so
applying one function's stack cannot change the other's or the infra's resources.

A function's environment variables are its settings class written back out
(`as_environment(load_settings(cls, ...))`): the class the handler itself reads is the only list.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cdktn import DataTerraformRemoteStateS3
from cdktn_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktn_provider_aws.lambda_event_source_mapping import LambdaEventSourceMapping
from constructs import Construct

from contract.config import as_environment, environment_variables, load_settings
from contract.resources import EVENT_SOURCE
from contract.tables import LateIndex, PendingIndex
from cv_analytics.packaging import DIST
from modules.policy import Statement
from modules.python_function import FunctionSpec, PythonFunction
from modules.schedule import SCHEDULED_TIME_INPUT, Schedule, ScheduleSpec
from processor.settings import ProcessorSettings
from reporter.settings import ReporterSettings
from terraform.environment import Environment, FunctionConfig
from terraform.environment_schema import check_sender_identity, unknown_variables
from terraform.outputs import InfraOutputs
from terraform.stacks.base import ProjectStack, s3_state_settings

PENDING_INDEX = PendingIndex.Meta.index_name
LATE_INDEX = LateIndex.Meta.index_name

# Exactly the item actions each function's code calls, per table and index: no Scan, no table management,
# no ConditionCheckItem (no transaction uses one). TransactWriteItems is authorised per item action inside
# it, so the processor's transactions need only the Put/Update/Delete below.
# processor/repository.py: store_half, settle_interim and the transactions update interim items; get_interim
# reads one; pending_before (the sweep only) queries the pending index.
PROCESSOR_QUERY_EVENTS_ACTIONS = ("dynamodb:GetItem", "dynamodb:UpdateItem")
# The sweep queries the pending index for its items, the reporter for a Select=COUNT.
PENDING_INDEX_ACTIONS = ("dynamodb:Query",)
# Guards and records are read, put (records, guards, quarantined events), updated (guards on heal) and
# deleted (an orphan record moved to another day partition on heal).
PROCESSOR_ANALYTICS_ACTIONS = (
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
)
# reporter/store.py queries day partitions; reporter/marker.py reads the week's marker and writes it only
# through conditional UpdateItem (claim, sent, rejected, released): no PutItem.
REPORTER_ANALYTICS_ACTIONS = ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem")
# The roll-up queries the late-records index for the days to build again; the reporter queries it for the
# days with late records before it trusts their rollups.
LATE_INDEX_ACTIONS = ("dynamodb:Query",)
# The roll-up's calls on the Analytics table (reporter/rollup*.py). Its rollup parts are written in one
# TransactWriteItems, which is authorised per item action inside it (Put and Delete).
ROLLUP_ANALYTICS_ACTIONS = (
    # A day's rollup parts that the new build no longer has are deleted in the transaction.
    "dynamodb:DeleteItem",
    # The day's rollup parts are put in the transaction.
    "dynamodb:PutItem",
    # A day's partitions (its records) and the rollup partition (the days already built) are queried.
    "dynamodb:Query",
    # A counted record's late flag is removed, which takes it out of the late-records index.
    "dynamodb:UpdateItem",
)


def function_environment(
    settings_class: type[Any], config: FunctionConfig, infra: Mapping[str, str]
) -> dict[str, str]:
    """The Lambda's variables: the settings its handler reads, from the environment file and infra outputs.

    A variable in the environment file that the settings class does not read is an error, not ignored.
    """
    readable = set(environment_variables(settings_class))
    unknown = unknown_variables(settings_class, config.settings)
    if unknown:
        raise ValueError(f"{settings_class.__name__} reads no {', '.join(unknown)}: remove or rename them")
    values = {**config.settings, **{k: v for k, v in infra.items() if k in readable}}
    return as_environment(load_settings(settings_class, values))


class FunctionStack(ProjectStack):
    """Shared by both function stacks: remote state of infra, the zip, and the table ARNs."""

    def __init__(self, scope: Construct, env: Environment, *, stack_dir: Path) -> None:
        super().__init__(scope, env)
        self.use_remote_backend()
        self.stack_dir = stack_dir
        self.account = DataAwsCallerIdentity(self, "account")
        self.infra = DataTerraformRemoteStateS3(
            self, "infra", key=env.state_key("infra"), **s3_state_settings(env)
        )
        self.outputs = InfraOutputs.read(self.infra.get_string)
        self.interim_arn = self.outputs.query_events_table_arn
        self.analytics_arn = self.outputs.analytics_table_arn
        self.pending_index_arn = f"{self.interim_arn}/index/{PENDING_INDEX}"
        self.late_index_arn = f"{self.analytics_arn}/index/{LATE_INDEX}"
        self.table_env = {
            "QUERY_EVENTS_TABLE": self.outputs.query_events_table,
            "ANALYTICS_TABLE": self.outputs.analytics_table,
            "DLQ_URL": self.outputs.dlq_url,
        }

    def function(
        self,
        id_: str,
        *,
        name: str,
        handler: str,
        config: FunctionConfig,
        settings_class: type[Any],
        statements: list[Statement],
        description: str,
        derived: Mapping[str, str] | None = None,
    ) -> PythonFunction:
        """One function from the stack's zip; `derived` settings follow from other configuration."""
        zip_path = DIST / f"{self.kind}.zip"
        return PythonFunction(
            self,
            id_,
            FunctionSpec(
                name=name,
                handler=handler,
                zip_path=zip_path,
                zip_reference=os.path.relpath(zip_path, self.stack_dir),
                memory_mb=config.memory_mb,
                timeout_seconds=config.timeout_seconds,
                architecture=config.architecture,
                log_retention_days=self.env.log_retention_days,
                environment=function_environment(
                    settings_class, config, {**self.table_env, **(derived or {})}
                ),
                statements=statements,
                description=description,
            ),
        )


class ProcessorStack(FunctionStack):
    """The processor (SQS event source mapping on its alias) and the orphan sweep (every 15 minutes)."""

    kind = "processor"

    def __init__(self, scope: Construct, env: Environment, *, stack_dir: Path) -> None:
        super().__init__(scope, env, stack_dir=stack_dir)
        queue_arn = self.outputs.queue_arn
        tables = [
            Statement(
                sid="QueryEvents",
                actions=PROCESSOR_QUERY_EVENTS_ACTIONS,
                resources=[self.interim_arn],
            ),
            Statement(sid="Analytics", actions=PROCESSOR_ANALYTICS_ACTIONS, resources=[self.analytics_arn]),
        ]
        # Only the sweep reads the pending index (Repository.pending_before).
        pending = Statement(
            sid="PendingIndex", actions=PENDING_INDEX_ACTIONS, resources=[self.pending_index_arn]
        )
        consume = Statement(
            sid="ConsumeEvents",
            actions=[
                "sqs:ChangeMessageVisibility",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:ReceiveMessage",
            ],
            resources=[queue_arn],
        )
        processor = self.function(
            "processor",
            name=env.function_name("processor"),
            handler="processor.handler.handle",
            config=env.processor,
            settings_class=ProcessorSettings,
            statements=[*tables, consume],
            description="Correlates query and response events from the queue into the Analytics table.",
        )
        LambdaEventSourceMapping(
            self,
            "events",
            event_source_arn=queue_arn,
            function_name=processor.alias.arn,
            batch_size=EVENT_SOURCE.batch_size,
            maximum_batching_window_in_seconds=EVENT_SOURCE.maximum_batching_window_seconds,
            function_response_types=EVENT_SOURCE.function_response_types,
            scaling_config={"maximum_concurrency": env.processor.maximum_concurrency},
        )
        sweep = self.function(
            "sweep",
            name=env.function_name("sweep"),
            handler="processor.handler.sweep",
            config=env.processor,
            settings_class=ProcessorSettings,
            statements=[*tables, pending],
            description="Records requests whose other half never arrived as orphans.",
        )
        Schedule(
            self,
            "sweep-schedule",
            ScheduleSpec(
                name=f"{env.name_prefix}-sweep",
                expression=env.processor.sweep_schedule,
                timezone="UTC",
                target_arn=sweep.alias.arn,
                # The next run is minutes away and picks up whatever this one missed.
                retry_attempts=0,
                description="Orphan sweep of pending interim requests.",
                account_id=self.account.account_id,
                # No input: the sweep's cutoff is measured from when it actually runs, not when it was due.
            ),
        )


class ReporterStack(FunctionStack):
    """The weekly report (Monday 09:00 in the owner's time zone) and the roll-up (hourly), from one zip.

    The roll-up builds each local day's figures once the day is final, and again when late records arrive;
    the report reads those rollups instead of eight weeks of records.
    """

    kind = "reporter"

    def __init__(self, scope: Construct, env: Environment, *, stack_dir: Path) -> None:
        super().__init__(scope, env, stack_dir=stack_dir)
        identity = env.reporter.ses_identity
        check_sender_identity(env.reporter.settings.get("REPORT_SENDER", ""), identity)
        statements = [
            Statement(
                sid="ReadWeekWriteMarker",
                actions=REPORTER_ANALYTICS_ACTIONS,
                resources=[self.analytics_arn],
            ),
            Statement(
                sid="CountPending",
                actions=PENDING_INDEX_ACTIONS,
                resources=[self.pending_index_arn],
            ),
            Statement(sid="LateDays", actions=LATE_INDEX_ACTIONS, resources=[self.late_index_arn]),
            Statement(
                sid="SendReport",
                actions=["ses:SendRawEmail"],
                resources=[f"arn:aws:ses:{env.region}:{self.account.account_id}:identity/{identity}"],
            ),
            Statement(
                sid="DlqDepth",
                actions=["sqs:GetQueueAttributes"],
                resources=[self.outputs.dlq_arn],
            ),
        ]
        # An attempt owns the week's report for as long as it can run; a retry after that may send.
        derived = {"REPORT_CLAIM_SECONDS": str(env.reporter.timeout_seconds)}
        reporter = self.function(
            "reporter",
            name=env.function_name("reporter"),
            handler="reporter.handler.handle",
            config=env.reporter,
            settings_class=ReporterSettings,
            statements=statements,
            description="Sends the weekly analytics report by e-mail.",
            derived=derived,
        )
        Schedule(
            self,
            "weekly",
            ScheduleSpec(
                name=f"{env.name_prefix}-weekly-report",
                expression=env.reporter.schedule,
                timezone=env.reporter.schedule_timezone,
                target_arn=reporter.alias.arn,
                # Safe to retry: the report marker makes a second attempt in the same week send nothing.
                retry_attempts=2,
                description="Weekly analytics report.",
                account_id=self.account.account_id,
                # The handler reports the week before the scheduled time, so a late or retried run reports
                # the same week as an on-time one.
                input_=SCHEDULED_TIME_INPUT,
            ),
        )
        self.roll_up(env, derived=derived)

    def roll_up(self, env: Environment, *, derived: Mapping[str, str]) -> None:
        """The roll-up function and its hourly schedule; `derived` as the reporter's, so both read one
        environment (the same REPORT_TIMEZONE above all: a rollup is one local day of the report's zone)."""
        rollup = self.function(
            "rollup",
            name=env.function_name("rollup"),
            handler="reporter.handler.roll_up",
            config=env.reporter.rollup_function(),
            settings_class=ReporterSettings,
            statements=[
                Statement(sid="RollUpDays", actions=ROLLUP_ANALYTICS_ACTIONS, resources=[self.analytics_arn]),
                Statement(sid="LateDays", actions=LATE_INDEX_ACTIONS, resources=[self.late_index_arn]),
            ],
            description="Builds each day's figures for the weekly report once the day is final.",
            derived=derived,
        )
        Schedule(
            self,
            "rollup-schedule",
            ScheduleSpec(
                name=f"{env.name_prefix}-rollup",
                expression=env.reporter.rollup.schedule,
                timezone="UTC",
                target_arn=rollup.alias.arn,
                # The next run is an hour away and builds whatever this one missed.
                retry_attempts=0,
                description="Roll-up of the days that are due, or have late records.",
                account_id=self.account.account_id,
                # No input: which days are due is measured from when the roll-up actually runs.
            ),
        )
