"""The pipeline as Terraform deployed it on the local AWS twin: event source, schedules, the Worker's key.

- `FollowingAlias`: what an event source mapping or a schedule invokes: the function behind an alias ARN.
  It looks the alias up before each invocation and, when the alias has moved (a deploy, a rollback),
  starts the new version's execution environment, as Lambda does.
- `deployed_event_source`: the event source mapping Terraform created on a queue, played by the local
  poller with that mapping's batch size, response types and function; it receives with the function
  role's credentials, as Lambda's poller does.
- `fire_schedule`: one run of a deployed schedule at a scheduled time, with the target input Scheduler
  would send.
- `publisher_key`: the edge publisher's access key, created as the operator does with
  `aws iam create-access-key` (Terraform deliberately creates none).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from contract.resources import LIVE_ALIAS
from cv_analytics.local.deployed import (
    DeployedMapping,
    DeployedSchedule,
    function_of_arn,
    live_function,
    mappings_of_queue,
)
from cv_analytics.local.event_source import EventSourceMapping, Handler
from cv_analytics.local.lambda_runtime import LocalFunction, assume_role, running_function
from cv_analytics.local.scheduler import target_input
from cv_analytics.local.twin import Credentials, Twin

REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"


@dataclass
class FollowingAlias:
    """Invokes whatever version `alias_arn` points to now (see the module docstring)."""

    twin: Twin
    alias_arn: str
    cache: Path
    log_dir: Path
    clock_offset_ms: int = 0
    versions_invoked: list[str] = field(default_factory=list)
    _current: LocalFunction | None = None
    _stack: ExitStack = field(default_factory=ExitStack)

    @property
    def function_name(self) -> str:
        return function_of_arn(self.alias_arn)

    def environment(self) -> LocalFunction:
        """The execution environment of the alias's version now, started if it moved."""
        lambda_client = self.twin.client("lambda")
        version = str(
            lambda_client.get_alias(FunctionName=self.function_name, Name=LIVE_ALIAS)["FunctionVersion"]
        )
        if self._current is None or self._current.deployed.version != version:
            self._stack.close()
            self._stack = ExitStack()
            deployed = live_function(lambda_client, self.function_name)
            self._current = self._stack.enter_context(
                running_function(
                    self.twin,
                    deployed,
                    cache=self.cache,
                    log=self.log_dir / f"{self.function_name}.log",
                    clock_offset_ms=self.clock_offset_ms,
                )
            )
        return self._current

    def __call__(self, event: dict[str, Any], context: Any = None) -> Any:
        function = self.environment()
        self.versions_invoked.append(function.deployed.version)
        return function.invoke(event)

    def close(self) -> None:
        self._stack.close()
        self._current = None


def the_mapping(twin: Twin, queue_arn: str) -> DeployedMapping:
    mappings = mappings_of_queue(twin.client("lambda"), queue_arn)
    if len(mappings) != 1:
        raise RuntimeError(
            f"expected one event source mapping on {queue_arn}, Terraform created {len(mappings)}"
        )
    return mappings[0]


@contextmanager
def deployed_event_source(
    twin: Twin,
    queue_arn: str,
    *,
    cache: Path,
    log_dir: Path,
    visibility_timeout: int | None = None,
    clock_offset_ms: int = 0,
    wrap: Callable[[Handler], Handler] | None = None,
) -> Iterator[tuple[EventSourceMapping, FollowingAlias]]:
    """The deployed mapping on `queue_arn`, polled locally; the function behind it follows its alias."""
    mapping = the_mapping(twin, queue_arn)
    function = FollowingAlias(twin, mapping.function_arn, cache, log_dir, clock_offset_ms)
    try:
        deployed = live_function(twin.client("lambda"), function.function_name)
        role = assume_role(twin, deployed.role_arn, f"{deployed.name}-event-source")
        queue_url = twin.client("sqs").get_queue_url(QueueName=queue_arn.rsplit(":", 1)[1])["QueueUrl"]
        poller = EventSourceMapping(
            twin.client("sqs", role),
            queue_url,
            wrap(function) if wrap else function,
            function_name=deployed.name,
            batch_size=mapping.batch_size,
            visibility_timeout=visibility_timeout,
            function_timeout_ms=deployed.timeout_seconds * 1000,
            report_batch_item_failures=REPORT_BATCH_ITEM_FAILURES in mapping.function_response_types,
        )
        yield poller, function
    finally:
        function.close()


def fire_schedule(
    twin: Twin, schedule: DeployedSchedule, scheduled_time: datetime, *, cache: Path, log_dir: Path
) -> Any:
    """One run of `schedule` due at `scheduled_time`: its target alias invoked with Scheduler's input."""
    arn = f"arn:aws:scheduler:{twin.region}:{_account(twin)}:schedule/default/{schedule.name}"
    event = json.loads(target_input(schedule.input, scheduled_time=scheduled_time, schedule_arn=arn))
    target = FollowingAlias(twin, schedule.target_arn, cache, log_dir)
    try:
        return target(event)
    finally:
        target.close()


def _account(twin: Twin) -> str:
    return str(twin.client("sts").get_caller_identity()["Account"])


def publisher_key(twin: Twin, user: str) -> Credentials:
    """A new access key of the edge publisher user (what the operator pipes into `wrangler secret put`).

    IAM allows two keys per user: as in a rotation, the oldest goes when there are two already.
    """
    iam = twin.client("iam")
    keys = sorted(iam.list_access_keys(UserName=user)["AccessKeyMetadata"], key=lambda k: k["CreateDate"])
    if len(keys) >= 2:
        iam.delete_access_key(UserName=user, AccessKeyId=keys[0]["AccessKeyId"])
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return Credentials(key["AccessKeyId"], key["SecretAccessKey"])
