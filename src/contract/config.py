"""Settings read from environment variables, declared once as typed dataclass fields.

A function's settings class is the single list of what it reads: the loader parses it, and the
infrastructure sets exactly these variables on the Lambda (minus those the Lambda runtime provides), so the
two cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import os
import re
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

_T = TypeVar("_T")

_ENV = "env"
_RUNTIME = "provided_by_runtime"
_HELP = "help"


class SettingsError(ValueError):
    """A setting is present but unusable; the message names the variable and what it should be."""

    @property
    def variable(self) -> str | None:
        """The variable the message starts with (every message here does), e.g. `REPORT_RECIPIENTS`."""
        match = re.match(r"[A-Z][A-Z0-9_]+\b", str(self))
        return match.group(0) if match else None


def setting(env: str, default: Any, *, help: str, provided_by_runtime: bool = False) -> Any:
    """Declare a dataclass field read from the environment variable `env`.

    `provided_by_runtime` marks variables the Lambda runtime sets itself (such as AWS_REGION), which the
    infrastructure must not set.
    """
    return dataclasses.field(
        default=default, metadata={_ENV: env, _RUNTIME: provided_by_runtime, _HELP: help}
    )


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected true or false")


def _parse_csv(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


_PARSERS: dict[Any, Callable[[str], Any]] = {
    str: str,
    int: int,
    float: float,
    bool: _parse_bool,
    tuple[str, ...]: _parse_csv,
}

_EXPECTED: dict[Any, str] = {
    str: "text",
    int: "a whole number",
    float: "a number",
    bool: "true or false",
    tuple[str, ...]: "a comma-separated list",
}


def _base_type(annotation: Any) -> Any:
    """`str | None` -> `str`; other annotations unchanged."""
    args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    if typing.get_origin(annotation) in {typing.Union, types.UnionType}:
        return args[0]
    return annotation


def load_settings(cls: type[_T], environ: Mapping[str, str] | None = None) -> _T:
    """Build `cls` from the environment; an unset or empty variable keeps the field's default."""
    source = os.environ if environ is None else environ
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        name = field.metadata.get(_ENV)
        if name is None:
            continue
        text = source.get(name, "")
        if text == "":
            continue
        kind = _base_type(hints[field.name])
        try:
            values[field.name] = _PARSERS[kind](text)
        except ValueError as error:
            raise SettingsError(
                f"{name}={text!r} is not {_EXPECTED[kind]} ({field.metadata[_HELP]})"
            ) from error
    settings = cls(**values)
    validate = getattr(settings, "validate", None)
    if validate is not None:
        validate()
    return settings


def environment_variables(cls: type[Any], *, include_runtime: bool = False) -> tuple[str, ...]:
    """The variables `cls` reads, in declaration order; without those the runtime provides, by default."""
    return tuple(
        field.metadata[_ENV]
        for field in dataclasses.fields(cls)
        if _ENV in field.metadata and (include_runtime or not field.metadata[_RUNTIME])
    )


def as_environment(settings: Any, *, include_runtime: bool = False) -> dict[str, str]:
    """The settings written back as environment variables (for Lambda configuration and local runs)."""
    result: dict[str, str] = {}
    for field in dataclasses.fields(settings):
        name = field.metadata.get(_ENV)
        if name is None or (field.metadata[_RUNTIME] and not include_runtime):
            continue
        value = getattr(settings, field.name)
        if value is None:
            continue
        if isinstance(value, bool):
            result[name] = "true" if value else "false"
        elif isinstance(value, tuple):
            result[name] = ",".join(value)
        else:
            result[name] = str(value)
    return result


@dataclasses.dataclass(frozen=True)
class AwsSettings:
    """Where the tables are: shared by every component that reads or writes them."""

    query_events_table: str = setting(
        "QUERY_EVENTS_TABLE", "cv-analytics-query-events", help="name of the interim QueryEvents table"
    )
    analytics_table: str = setting(
        "ANALYTICS_TABLE", "cv-analytics-analytics", help="name of the final Analytics table"
    )
    analytics_write_shards: int = setting(
        "ANALYTICS_WRITE_SHARDS",
        1,
        help="partitions per UTC day in Analytics; only ever raise it, readers query every shard below it",
    )
    aws_region: str = setting(
        "AWS_REGION", "eu-west-2", help="AWS region of the tables", provided_by_runtime=True
    )
    aws_endpoint_url: str | None = setting(
        "AWS_ENDPOINT_URL",
        None,
        help="endpoint of a local AWS (moto server); unset on AWS",
        provided_by_runtime=True,
    )

    def validate(self) -> None:
        if not 1 <= self.analytics_write_shards <= 100:
            raise SettingsError(
                f"ANALYTICS_WRITE_SHARDS={self.analytics_write_shards} is out of range: use 1 to 100"
            )


@dataclasses.dataclass(frozen=True)
class FunctionSettings(AwsSettings):
    """What every Lambda of the project reads besides the tables: how Powertools logs and emits metrics.

    Each function adds `POWERTOOLS_SERVICE_NAME` with its own default.
    """

    metrics_namespace: str = setting(
        "POWERTOOLS_METRICS_NAMESPACE", "CvAnalytics", help="CloudWatch namespace of the EMF metrics"
    )
    log_level: str = setting("POWERTOOLS_LOG_LEVEL", "INFO", help="DEBUG, INFO, WARNING or ERROR")
