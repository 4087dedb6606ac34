"""An EventBridge Scheduler schedule invoking a function alias, with the role that allows exactly that.

EventBridge Scheduler rather than a plain EventBridge rule: it evaluates cron expressions in a time zone
(Monday 09:00 Europe/London stays 09:00 across daylight saving time), which rules cannot; it is free for
these volumes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from cdktn_provider_aws.iam_role import IamRole
from cdktn_provider_aws.iam_role_policy import IamRolePolicy
from cdktn_provider_aws.scheduler_schedule import (
    SchedulerSchedule,
    SchedulerScheduleTarget,
    SchedulerScheduleTargetRetryPolicy,
)
from constructs import Construct

from modules.policy import Statement, assume_role_json, policy_json

# Passed to the target as its event: the time the run was scheduled for (EventBridge Scheduler's context
# attribute), which stays the same across the scheduler's retries and whatever the invocation's delay.
SCHEDULED_TIME_INPUT = json.dumps({"time": "<aws.scheduler.scheduled-time>"})


@dataclass(frozen=True)
class ScheduleSpec:
    """Schedule `name` firing `target_arn` (a function alias) on `expression` in `timezone`.

    `retry_attempts`: how often Scheduler retries a failed invocation; `account_id` pins the role's trust to
    this account's schedules; `input_` is the target's event (EventBridge Scheduler sends `{}` without it).
    """

    name: str
    expression: str
    timezone: str
    target_arn: str
    retry_attempts: int
    description: str
    account_id: str
    input_: str | None = None


class Schedule(Construct):
    """The schedule and the role it invokes its target with, allowed `lambda:InvokeFunction` on it alone.

    Outputs: `schedule`.
    """

    def __init__(self, scope: Construct, id_: str, spec: ScheduleSpec) -> None:
        super().__init__(scope, id_)
        role = IamRole(
            self,
            "role",
            name=f"{spec.name}-scheduler",
            assume_role_policy=assume_role_json("scheduler.amazonaws.com", source_account=spec.account_id),
        )
        IamRolePolicy(
            self,
            "invoke",
            name=f"{spec.name}-invoke",
            role=role.id,
            policy=policy_json(
                [Statement(sid="InvokeAlias", actions=["lambda:InvokeFunction"], resources=[spec.target_arn])]
            ),
        )
        self.schedule = SchedulerSchedule(
            self,
            "schedule",
            name=spec.name,
            description=spec.description,
            schedule_expression=spec.expression,
            schedule_expression_timezone=spec.timezone,
            flexible_time_window={"mode": "OFF"},
            target=SchedulerScheduleTarget(
                arn=spec.target_arn,
                role_arn=role.arn,
                retry_policy=SchedulerScheduleTargetRetryPolicy(maximum_retry_attempts=spec.retry_attempts),
                input=spec.input_,
            ),
        )
