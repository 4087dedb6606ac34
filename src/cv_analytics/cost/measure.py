"""What one run of the pipeline on the twin asked of AWS: requests by caller, invocations, logs, storage.

`measuring` brackets a run: it forgets what the twin's request meter counted before and notes where the
invocation log and the functions' log files stood, and at the end collects everything since into a
`RunMeasurement`. Requests signed with the twin administrator's key, or with a key of the users that
stand in for AWS services (assuming a function's role), are left out: they are the local runtime's own
work (a function's configuration, its role's credentials, the demo's checks), which Lambda and the
scheduler do inside AWS without a billed request.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cv_analytics.local import request_meter
from cv_analytics.local.dynamodb_capacity import item_size
from cv_analytics.local.lambda_runtime import INVOCATIONS, ROLE_SESSIONS, Invocation
from cv_analytics.local.request_meter import MeteredRequest
from cv_analytics.local.twin import Twin

EDGE = "edge"  # the Worker's sends, signed with the edge publisher user's own key


@dataclass(frozen=True)
class CallerRequest:
    """A metered request and who made it: a role session's name (a function, its event source) or `edge`."""

    caller: str
    request: MeteredRequest


@dataclass(frozen=True)
class RunMeasurement:
    questions: int
    requests: tuple[CallerRequest, ...]
    invocations: tuple[Invocation, ...]
    log_bytes: Mapping[str, int]  # per function: what its invocations wrote to its log
    alarms: int
    custom_metrics: int
    stored_bytes: int  # every item of the kept tables at the end of the run


def attribute(
    requests: list[MeteredRequest], sessions: Mapping[str, str], internal_keys: set[str]
) -> tuple[CallerRequest, ...]:
    """Name each request's caller; drop the unsigned ones and those of `internal_keys` (the administrator,
    the users standing in for AWS services assuming roles: work AWS does without a billed request)."""
    named = []
    for request in requests:
        if request.access_key == "" or request.access_key in internal_keys:
            continue
        caller = sessions.get(request.access_key, EDGE)
        named.append(CallerRequest(caller, request))
    return tuple(named)


def emf_metrics(lines: list[str]) -> set[tuple[str, str, tuple[tuple[str, str], ...]]]:
    """The distinct custom metrics (namespace, name, dimension values) that EMF log lines define."""
    found: set[tuple[str, str, tuple[tuple[str, str], ...]]] = set()
    for line in lines:
        if '"CloudWatchMetrics"' not in line:
            continue
        try:
            document: dict[str, Any] = json.loads(line)
        except ValueError:
            continue
        for directive in document.get("_aws", {}).get("CloudWatchMetrics", []):
            for dimension_set in directive.get("Dimensions", []) or [[]]:
                dimensions = tuple(sorted((name, str(document.get(name))) for name in dimension_set))
                for metric in directive.get("Metrics", []):
                    found.add((directive.get("Namespace", ""), metric["Name"], dimensions))
    return found


def _sizes(log_dir: Path) -> dict[str, int]:
    return {path.stem: path.stat().st_size for path in log_dir.glob("*.log")}


def _new_lines(path: Path, offset: int) -> list[str]:
    with path.open("rb") as log:
        log.seek(offset)
        return log.read().decode("utf-8", "replace").splitlines()


def _stored_bytes(twin: Twin, tables: list[str]) -> int:
    dynamodb = twin.client("dynamodb")
    total = 0
    for table in tables:
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            total += sum(item_size(item) for item in page["Items"])
    return total


def _internal_keys(twin: Twin) -> set[str]:
    return {twin.admin.access_key_id} | {user.access_key_id for user in twin.services.values()}


def _alarms(twin: Twin) -> int:
    found = twin.client("cloudwatch").describe_alarms()
    return len(found.get("MetricAlarms", [])) + len(found.get("CompositeAlarms", []))


@contextmanager
def measuring(twin: Twin, log_dir: Path, kept_tables: list[str]) -> Iterator[Callable[[int], RunMeasurement]]:
    """Yields `finish(questions)`, which collects what happened since the block began.

    `kept_tables`: the tables whose items stay (their bytes are the storage the bill carries).
    """
    request_meter.reset(twin)
    mark = INVOCATIONS.mark()
    log_dir.mkdir(parents=True, exist_ok=True)
    sizes = _sizes(log_dir)

    def finish(questions: int) -> RunMeasurement:
        invocations = tuple(INVOCATIONS.since(mark))
        functions = {invocation.function for invocation in invocations}
        grown: dict[str, int] = {}
        metrics: set[tuple[str, str, tuple[tuple[str, str], ...]]] = set()
        for name, size in _sizes(log_dir).items():
            if name in functions:
                grown[name] = size - sizes.get(name, 0)
                metrics |= emf_metrics(_new_lines(log_dir / f"{name}.log", sizes.get(name, 0)))
        return RunMeasurement(
            questions=questions,
            requests=attribute(request_meter.read(twin), ROLE_SESSIONS.names(), _internal_keys(twin)),
            invocations=invocations,
            log_bytes=grown,
            alarms=_alarms(twin),
            custom_metrics=len(metrics),
            stored_bytes=_stored_bytes(twin, kept_tables),
        )

    yield finish
