"""An EventBridge Scheduler schedule invoking a function alias, with the role that allows exactly that.

EventBridge Scheduler rather than a plain EventBridge rule: it evaluates cron expressions in a time zone
(Monday 09:00 Europe/London stays 09:00 across daylight saving time), which rules cannot; it is free for
these volumes.
"""

from __future__ import annotations

from cdktn_provider_aws.iam_role import IamRole
from cdktn_provider_aws.iam_role_policy import IamRolePolicy
from cdktn_provider_aws.scheduler_schedule import SchedulerSchedule
from constructs import Construct

from modules.policy import Statement, assume_role_json, policy_json


class Schedule(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name: str,
        expression: str,
        timezone: str,
        target_arn: str,
        retry_attempts: int,
        description: str,
    ) -> None:
        super().__init__(scope, id_)
        role = IamRole(
            self,
            "role",
            name=f"{name}-scheduler",
            assume_role_policy=assume_role_json("scheduler.amazonaws.com"),
        )
        IamRolePolicy(
            self,
            "invoke",
            name=f"{name}-invoke",
            role=role.id,
            policy=policy_json(
                [Statement(sid="InvokeAlias", actions=["lambda:InvokeFunction"], resources=[target_arn])]
            ),
        )
        self.schedule = SchedulerSchedule(
            self,
            "schedule",
            name=name,
            description=description,
            schedule_expression=expression,
            schedule_expression_timezone=timezone,
            flexible_time_window={"mode": "OFF"},
            target={
                "arn": target_arn,
                "role_arn": role.arn,
                "retry_policy": {"maximum_retry_attempts": retry_attempts},
            },
        )
