"""Environment files checked against `environment.schema.json`, each mistake as one line naming the key.

The schema is the one list of keys: every key is required unless it has a default (or is marked optional),
unknown keys are refused, types are exact (`"false"` is not a boolean, `"5"` is not a number), and each
property's description says what a right value is, which the error quotes. What JSON Schema cannot say is
checked by the formats below (AWS region names from botocore's endpoint data, IANA time zones, EventBridge
Scheduler expressions, e-mail addresses and SES identities) and by `_function_problems` (each function's
variables against its settings class, the sender against the SES identity). A new key is one new property in
the schema; a new kind of value, one more format here.

`python -m terraform.environment_schema [ENV or FILE ...]` (`./taskw check-env`) checks every environment
file, or the ones named; synth runs the same check through `Environment.load`.
"""

from __future__ import annotations

import calendar
import copy
import json
import re
import sys
from collections.abc import Iterator
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import botocore.session
from jsonschema import Draft202012Validator, FormatChecker, ValidationError

from contract.addresses import address_problem, is_domain
from contract.config import SettingsError, environment_variables, load_settings
from cv_analytics.packaging import LAMBDA
from processor.settings import ProcessorSettings
from reporter.settings import ReporterSettings

TERRAFORM_DIR = Path(__file__).resolve().parent
ENVIRONMENTS_DIR = TERRAFORM_DIR / "environments"
SCHEMA_PATH = TERRAFORM_DIR / "environment.schema.json"
SETTINGS_CLASSES: dict[str, type[Any]] = {"processor": ProcessorSettings, "reporter": ReporterSettings}


class EnvironmentFileError(ValueError):
    """An environment file with mistakes; `problems` holds one line per mistake, each naming file and key."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


formats = FormatChecker(formats=())


@cache
def aws_regions() -> frozenset[str]:
    """Every region botocore's endpoint data knows, in every partition (no network needed)."""
    session = botocore.session.get_session()
    return frozenset(
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("lambda", partition_name=partition)
    )


@formats.checks("aws-region")
def _is_region(value: object) -> bool:
    return not isinstance(value, str) or value in aws_regions()


@formats.checks("iana-time-zone")
def _is_time_zone(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


@formats.checks("email-address")
def _is_address(value: object) -> bool:
    return not isinstance(value, str) or address_problem(value) is None


@formats.checks("ses-identity")
def _is_identity(value: object) -> bool:
    return not isinstance(value, str) or address_problem(value) is None or is_domain(value)


@formats.checks("schedule-expression")
def _is_schedule(value: object) -> bool:
    return not isinstance(value, str) or schedule_problem(value) is None


_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
_CRON = re.compile(r"^cron\(([^()]*)\)$")
_MONTHS = {name.upper(): index for index, name in enumerate(calendar.month_abbr) if name}
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
# EventBridge's cron fields: minutes, hours, day of month, month, day of week, year.
_CRON_FIELDS: tuple[tuple[str, int, int, dict[str, int], str], ...] = (
    ("minutes", 0, 59, {}, ""),
    ("hours", 0, 23, {}, ""),
    ("day of month", 1, 31, {}, "?LW"),
    ("month", 1, 12, _MONTHS, ""),
    ("day of week", 1, 7, _DAYS, "?L#"),
    ("year", 1970, 2199, {}, ""),
)


def _cron_value(text: str, low: int, high: int, names: dict[str, int]) -> bool:
    value = names.get(text.upper()) if text.isalpha() else (int(text) if text.isdigit() else None)
    return value is not None and low <= value <= high


def _cron_field_ok(field: str, low: int, high: int, names: dict[str, int], special: str) -> bool:
    if field in {"*", "?"} and (field == "*" or "?" in special):
        return True
    for part in field.split(","):
        base, _, step = part.partition("/")
        if step and not step.isdigit():
            return False
        if "L" in special and re.fullmatch(r"(\d{1,2})?[LW]{1,2}", base):
            continue
        if "#" in special and re.fullmatch(r"\w{1,3}#[1-5]", base):
            base = base.partition("#")[0]
        bounds = base.split("-")
        if base != "*" and not (len(bounds) <= 2 and all(_cron_value(b, low, high, names) for b in bounds)):
            return False
    return True


def _rate_problem(count: int, unit: str) -> str | None:
    if count < 1:
        return "a rate must be 1 or more"
    if (count == 1) != (not unit.endswith("s")):
        return f"write rate({count} {unit.rstrip('s') + ('' if count == 1 else 's')})"
    return None


def _at_problem(moment: str) -> str | None:
    try:
        datetime.fromisoformat(moment)
    except ValueError:
        return "at() needs a real date and time"
    return None


def _cron_problem(fields: list[str]) -> str | None:
    if len(fields) != len(_CRON_FIELDS):
        return "cron() takes six fields: minutes hours day-of-month month day-of-week year"
    for field, (name, low, high, names, special) in zip(fields, _CRON_FIELDS, strict=True):
        if not _cron_field_ok(field, low, high, names, special):
            return f"cron()'s {name} field {field!r} is out of range"
    if (fields[2] == "?") == (fields[4] == "?"):
        return "cron() needs ? in exactly one of day-of-month and day-of-week"
    return None


def schedule_problem(expression: str) -> str | None:
    """Why `expression` is not an EventBridge Scheduler schedule, or None when it is one."""
    if rate := _RATE.match(expression):
        return _rate_problem(int(rate.group(1)), rate.group(2))
    if at := _AT.match(expression):
        return _at_problem(at.group(1))
    if cron := _CRON.match(expression):
        return _cron_problem(cron.group(1).split())
    return "not rate(...), cron(...) or at(...)"


@cache
def schema() -> dict[str, Any]:
    """The schema with its local `$ref`s inlined and `required` derived.

    Every property is required unless it has a default or is marked `"x-optional": true` (a block only some
    environments have, such as `local_aws`, whose absence means something rather than a default value).
    """
    raw: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    definitions = raw.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(copy.deepcopy(definitions[node["$ref"].rsplit("/", 1)[-1]]))
            resolved = {key: resolve(value) for key, value in node.items()}
            if "properties" in resolved and "required" not in resolved:
                properties = resolved["properties"]
                resolved["required"] = [
                    key
                    for key, value in properties.items()
                    if "default" not in value and not value.get("x-optional", False)
                ]
            return resolved
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(raw)
    return resolved


def _key_path(parts: Iterator[Any] | Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(the whole file)"


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _schema_problems(error: ValidationError) -> Iterator[tuple[str, str]]:
    """(key path, problem) for one validation error; an unknown-keys error yields one per key."""
    path = list(error.absolute_path)
    node: dict[str, Any] = error.schema if isinstance(error.schema, dict) else {}
    instance: Any = error.instance
    if error.validator == "required" and isinstance(instance, dict):
        for key in node["required"]:
            if key not in instance:
                described = node["properties"][key].get("description", "a value")
                yield _key_path([*path, key]), f"missing: add {described}"
        return
    if error.validator == "additionalProperties" and isinstance(instance, dict):
        allowed = list(node.get("properties", {}))
        for key in instance:
            if key not in allowed:
                yield _key_path([*path, key]), f"unknown key: the keys here are {', '.join(allowed)}"
        return
    described = node.get("description")
    problem = f"{_shown(instance)} is not {described}" if described else error.message
    if error.validator == "format" and node.get("format") == "schedule-expression":
        problem += f" ({schedule_problem(str(instance))})"
    yield _key_path(path), problem


def _with_defaults(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    result = dict(document)
    for key, value in node.get("properties", {}).items():
        if key not in result and "default" in value:
            result[key] = copy.deepcopy(value["default"])
        elif isinstance(result.get(key), dict) and "properties" in value:
            result[key] = _with_defaults(result[key], value)
    return result


def check_sender_identity(sender: str, identity: str) -> None:
    """Fail unless the reporter may send from `sender` with `ses:SendRawEmail` on `identity`.

    SES authorises a send against the identity that covers the From address: that very address, or the
    domain it belongs to. Any other pairing deploys cleanly and then fails every Monday with AccessDenied.
    """
    if not sender:
        raise ValueError("the reporter's REPORT_SENDER is empty: set it to an address of its ses_identity")
    if sender.lower() == identity.lower():
        return
    local, at, domain = sender.rpartition("@")
    if "@" not in identity and at and local and domain.lower() == identity.lower():
        return
    raise ValueError(
        f"REPORT_SENDER {sender!r} is not covered by ses_identity {identity!r}: the sender must be that "
        "address, or an address at that domain when the identity is a domain"
    )


def unknown_variables(settings_class: type[Any], settings: dict[str, str]) -> list[str]:
    """Variables an environment file sets that the function's settings class does not read."""
    return sorted(set(settings) - set(environment_variables(settings_class)))


# The zips' native wheels are built for this Lambda architecture only (`cv_analytics.packaging.LAMBDA`).
BUILT_ARCHITECTURE = "arm64" if LAMBDA.pip_platform.endswith("aarch64") else "x86_64"


def _function_problems(document: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for function, settings_class in SETTINGS_CLASSES.items():
        if document[function]["architecture"] != BUILT_ARCHITECTURE:
            chosen = document[function]["architecture"]
            yield (
                f"{function}.architecture",
                (
                    f'"{chosen}" is a Lambda architecture, but the zips are built for {BUILT_ARCHITECTURE} '
                    f"({LAMBDA.pip_platform}): use {BUILT_ARCHITECTURE}"
                ),
            )
        settings: dict[str, str] = document[function]["settings"]
        prefix = f"{function}.settings"
        for name in unknown_variables(settings_class, settings):
            readable = ", ".join(environment_variables(settings_class))
            yield f"{prefix}.{name}", f"{settings_class.__name__} reads no such variable; it reads {readable}"
        try:
            load_settings(settings_class, settings)
        except SettingsError as error:
            yield f"{prefix}.{error.variable}" if error.variable else prefix, str(error)
    sender = document["reporter"]["settings"].get("REPORT_SENDER", "")
    try:
        check_sender_identity(sender, document["reporter"]["ses_identity"])
    except ValueError as error:
        yield "reporter.settings.REPORT_SENDER", str(error)


def _shown_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def check_file(path: Path) -> tuple[dict[str, Any] | None, list[str]]:
    """The file's document with defaults filled in, and its problems: one line each, none when it is right."""
    shown = _shown_path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, [f"{shown}: no such environment file"]
    except json.JSONDecodeError as error:
        return None, [f"{shown}: line {error.lineno} column {error.colno}: not valid JSON ({error.msg})"]
    validator = Draft202012Validator(schema(), format_checker=formats)
    found = sorted(pair for error in validator.iter_errors(document) for pair in _schema_problems(error))
    if not found and document["environment"] != path.stem:
        found.append(("environment", f'"{document["environment"]}" is not the file\'s name "{path.stem}"'))
    if not found:
        document = _with_defaults(document, schema())
        found.extend(_function_problems(document))
    return (None if found else document), [f"{shown}: {key}: {problem}" for key, problem in found]


def load_document(path: Path) -> dict[str, Any]:
    """The checked document with defaults filled in; raises EnvironmentFileError listing every mistake."""
    document, problems = check_file(path)
    if document is None:
        raise EnvironmentFileError(problems)
    return document


def _path_of(argument: str) -> Path:
    candidate = Path(argument)
    return candidate if candidate.suffix == ".json" else ENVIRONMENTS_DIR / f"{argument}.json"


def main(argv: list[str]) -> int:
    paths = [_path_of(argument) for argument in argv] or sorted(ENVIRONMENTS_DIR.glob("*.json"))
    problems = [line for path in paths for line in check_file(path)[1]]
    for line in problems:
        print(line, file=sys.stderr)
    names = ", ".join(_shown_path(path) for path in paths)
    if problems:
        print(f"{len(problems)} problem(s) in {names}", file=sys.stderr)
        return 1
    print(f"valid: {names}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
