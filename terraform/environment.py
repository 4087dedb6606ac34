"""One deployment environment (dev, prod) as read from terraform/environments/<env>.json.

Plain Python, no CDK: the stacks, the tests and the deploy tasks all read environments through this, and
every file is checked against `environment.schema.json` first (`terraform.environment_schema`), so the
values below have their exact types and a mistake is an `EnvironmentFileError` naming file and key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from terraform.environment_schema import load_document

TERRAFORM_DIR = Path(__file__).resolve().parent
ROOT = TERRAFORM_DIR.parent
ENVIRONMENTS_DIR = TERRAFORM_DIR / "environments"
OUTDIR = TERRAFORM_DIR / "cdktf.out"
PROJECT = "cv-analytics"

STACK_KINDS = ("state", "infra", "processor", "reporter")


@dataclass(frozen=True)
class FunctionConfig:
    memory_mb: int
    timeout_seconds: int
    architecture: str
    settings: dict[str, str]
    extra: dict[str, Any]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FunctionConfig:
        known = {"memory_mb", "timeout_seconds", "architecture", "settings"}
        return cls(
            memory_mb=data["memory_mb"],
            timeout_seconds=data["timeout_seconds"],
            architecture=data["architecture"],
            settings=dict(data["settings"]),
            extra={k: v for k, v in data.items() if k not in known},
        )


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
    processor: FunctionConfig
    reporter: FunctionConfig

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
            processor=FunctionConfig.from_json(data["processor"]),
            reporter=FunctionConfig.from_json(data["reporter"]),
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


def stack_names(environments: list[str] | None = None) -> list[str]:
    return [f"{kind}-{env}" for env in (environments or environment_names()) for kind in STACK_KINDS]
