"""What Terraform created on the local AWS twin, read back from it: the runtime runs exactly that.

The stacks' outputs give the queue URLs, table names and ARNs; Lambda gives each function's `live` alias,
the version behind it and that version's configuration (handler, environment variables, role, timeout,
code); the event source mapping on the alias gives the queue, batch size, batching window, response
types and maximum concurrency; EventBridge Scheduler gives the schedules and their targets. Nothing here
knows a resource name that Terraform did not report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from contract.resources import LIVE_ALIAS


@dataclass(frozen=True)
class DeployedFunction:
    """One function version as Lambda would run it."""

    name: str
    alias_arn: str
    version: str
    handler: str
    environment: dict[str, str]
    role_arn: str
    timeout_seconds: int
    memory_mb: int
    code_sha256: str
    code_location: str


@dataclass(frozen=True)
class DeployedMapping:
    """An SQS event source mapping: which queue feeds which function (alias) and how."""

    uuid: str
    queue_arn: str
    function_arn: str
    batch_size: int
    batching_window_seconds: int
    function_response_types: tuple[str, ...]
    maximum_concurrency: int | None
    enabled: bool


@dataclass(frozen=True)
class DeployedSchedule:
    """An EventBridge Scheduler schedule and the target input it sends."""

    name: str
    expression: str
    timezone: str
    target_arn: str
    role_arn: str
    input: str | None


def live_function(lambda_client: Any, name: str) -> DeployedFunction:
    """The version the function's `live` alias points to, with that version's configuration and code."""
    alias = lambda_client.get_alias(FunctionName=name, Name=LIVE_ALIAS)
    version = str(alias["FunctionVersion"])
    response = lambda_client.get_function(FunctionName=name, Qualifier=version)
    config = response["Configuration"]
    return DeployedFunction(
        name=name,
        alias_arn=str(alias["AliasArn"]),
        version=version,
        handler=str(config["Handler"]),
        environment=dict(config.get("Environment", {}).get("Variables", {})),
        role_arn=str(config["Role"]),
        timeout_seconds=int(config["Timeout"]),
        memory_mb=int(config["MemorySize"]),
        code_sha256=str(config["CodeSha256"]),
        code_location=str(response["Code"]["Location"]),
    )


def function_of_arn(arn: str) -> str:
    """`arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]` -> name."""
    parts = arn.split(":")
    if len(parts) < 7 or parts[5] != "function":
        raise ValueError(f"{arn} is not a Lambda function ARN")
    return parts[6]


def mappings_of_queue(lambda_client: Any, queue_arn: str) -> list[DeployedMapping]:
    """The event source mappings that read `queue_arn`."""
    found = []
    for page in lambda_client.get_paginator("list_event_source_mappings").paginate(EventSourceArn=queue_arn):
        for mapping in page["EventSourceMappings"]:
            found.append(
                DeployedMapping(
                    uuid=str(mapping["UUID"]),
                    queue_arn=str(mapping["EventSourceArn"]),
                    function_arn=str(mapping["FunctionArn"]),
                    batch_size=int(mapping["BatchSize"]),
                    batching_window_seconds=int(mapping.get("MaximumBatchingWindowInSeconds") or 0),
                    function_response_types=tuple(mapping.get("FunctionResponseTypes") or ()),
                    maximum_concurrency=(mapping.get("ScalingConfig") or {}).get("MaximumConcurrency"),
                    enabled=mapping.get("State", "Enabled") == "Enabled",
                )
            )
    return found


def schedules(scheduler_client: Any) -> list[DeployedSchedule]:
    """Every schedule in the default group, with its target."""
    found = []
    for summary in scheduler_client.list_schedules()["Schedules"]:
        schedule = scheduler_client.get_schedule(Name=summary["Name"])
        target = schedule["Target"]
        found.append(
            DeployedSchedule(
                name=str(schedule["Name"]),
                expression=str(schedule["ScheduleExpression"]),
                timezone=str(schedule.get("ScheduleExpressionTimezone") or "UTC"),
                target_arn=str(target["Arn"]),
                role_arn=str(target["RoleArn"]),
                input=target.get("Input"),
            )
        )
    return found
