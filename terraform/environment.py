"""One deployment environment (dev, prod, local) as read from terraform/environments/<env>.json.

Plain Python, no CDK: the stacks, the tests and the deploy tasks all read environments through this, and
every file is checked against `environment.schema.json` first (`terraform.environment_schema`), so the
values below have their exact types and a mistake is an `EnvironmentFileError` naming file and key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

from terraform.environment_schema import load_document

TERRAFORM_DIR = Path(__file__).resolve().parent
ROOT = TERRAFORM_DIR.parent
ENVIRONMENTS_DIR = TERRAFORM_DIR / "environments"
OUTDIR = TERRAFORM_DIR / "cdktf.out"
PROJECT = "cv-analytics"

STACK_KINDS = ("state", "infra", "processor", "reporter")


@dataclass(frozen=True)
class FunctionConfig:
    """What every function's block sets: its Lambda's size and the variables its settings class reads.

    Each function's subclass adds the keys of its own block as fields of the same names.
    """

    memory_mb: int
    timeout_seconds: int
    architecture: str
    settings: dict[str, str]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        values = {item.name: data[item.name] for item in fields(cls)}
        return cls(**(values | {"settings": dict(data["settings"])}))


@dataclass(frozen=True)
class ProcessorConfig(FunctionConfig):
    """The `processor` block: the event source mapping's concurrency and the orphan sweep's schedule."""

    maximum_concurrency: int
    sweep_schedule: str


@dataclass(frozen=True)
class RollupConfig:
    """The `reporter.rollup` block: the roll-up function's own size and schedule.

    It runs from the reporter's zip with the reporter's settings (the days it builds are local days in the
    same REPORT_TIMEZONE the report reads them in), so its architecture and variables are the reporter's;
    only its memory, timeout and schedule (evaluated in UTC) are its own.
    """

    memory_mb: int
    timeout_seconds: int
    schedule: str


@dataclass(frozen=True)
class ReporterConfig(FunctionConfig):
    """The `reporter` block: the weekly schedule in its time zone, the SES identity it sends as, and the
    roll-up function that builds the per-day figures the report reads."""

    schedule: str
    schedule_timezone: str
    ses_identity: str
    rollup: RollupConfig

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        return super().from_json(data | {"rollup": RollupConfig(**data["rollup"])})

    def rollup_function(self) -> FunctionConfig:
        """The roll-up's Lambda: its own memory and timeout, the reporter's architecture and settings."""
        return FunctionConfig(
            memory_mb=self.rollup.memory_mb,
            timeout_seconds=self.rollup.timeout_seconds,
            architecture=self.architecture,
            settings=self.settings,
        )


# The variable that moves the local AWS to another port (tests pick a free one; users may have 4566 taken).
TWIN_PORT_VARIABLE = "TWIN_PORT"


@dataclass(frozen=True)
class LocalAws:
    """The `local_aws` block of an environment that targets the local AWS twin instead of an AWS account.

    Every key here is what the provider, the S3 backend and the remote-state reads need to reach the twin;
    dev and prod have no such block and get the provider's defaults (the real AWS endpoints).

    - `endpoint`: the twin's base URL, served over TLS (the state bucket's TLS-only policy holds there
      too). `TWIN_PORT`, when set, replaces its port: a synth for another port needs no second file.
    - `provider_version`: the AWS provider constraint of the local stacks (see the README's "Provider
      version"); dev and prod keep the exact version the bindings were generated for.
    - `services`: the provider endpoints pointed at the twin (one URL serves them all).
    """

    endpoint: str
    provider_version: str
    services: tuple[str, ...]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LocalAws:
        return cls(
            endpoint=str(data["endpoint"]),
            provider_version=str(data["provider_version"]),
            services=tuple(str(s) for s in data["services"]),
        )

    @property
    def endpoint_url(self) -> str:
        """`endpoint`, on the port `TWIN_PORT` names when it is set."""
        port = os.environ.get(TWIN_PORT_VARIABLE, "").strip()
        if not port:
            return self.endpoint
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{TWIN_PORT_VARIABLE}={port!r} is not a port number")
        parts = urlsplit(self.endpoint)
        return urlunsplit(parts._replace(netloc=f"{parts.hostname}:{port}"))

    @property
    def port(self) -> int:
        port = urlsplit(self.endpoint_url).port
        if port is None:
            raise ValueError(f"the local AWS endpoint {self.endpoint_url} names no port")
        return port


@dataclass(frozen=True)
class Environment:
    name: str
    region: str
    name_prefix: str
    owner: str
    state_bucket: str
    alert_email: str
    log_retention_days: int
    deletion_protection: bool
    max_receive_count: int
    oldest_message_alarm_seconds: int
    monthly_budget_usd: float
    silent_worker_alarm_hours: int
    processor: ProcessorConfig
    reporter: ReporterConfig
    local_aws: LocalAws | None = None

    @classmethod
    def load(cls, name: str) -> Environment:
        data = load_document(ENVIRONMENTS_DIR / f"{name}.json")
        return cls(
            name=name,
            region=data["region"],
            name_prefix=data["name_prefix"],
            owner=data["owner"],
            state_bucket=data["state_bucket"],
            alert_email=data["alert_email"],
            log_retention_days=data["log_retention_days"],
            deletion_protection=data["deletion_protection"],
            max_receive_count=data["max_receive_count"],
            oldest_message_alarm_seconds=data["oldest_message_alarm_seconds"],
            monthly_budget_usd=data["monthly_budget_usd"],
            silent_worker_alarm_hours=data["silent_worker_alarm_hours"],
            processor=ProcessorConfig.from_json(data["processor"]),
            reporter=ReporterConfig.from_json(data["reporter"]),
            local_aws=LocalAws.from_json(data["local_aws"]) if "local_aws" in data else None,
        )

    def stack_name(self, kind: str) -> str:
        return f"{kind}-{self.name}"

    def state_key(self, kind: str) -> str:
        return f"{PROJECT}/{self.name}/{kind}.tfstate"

    def function_name(self, function: str) -> str:
        """Fixed names, so the infra stack can alarm on functions the function stacks create."""
        return f"{self.name_prefix}-{function}"

    def tags(self, component: str) -> dict[str, str]:
        return {"Project": PROJECT, "Component": component, "Environment": self.name, "Owner": self.owner}


def environment_names() -> list[str]:
    return sorted(path.stem for path in ENVIRONMENTS_DIR.glob("*.json"))
