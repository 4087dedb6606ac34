"""Every mistake in an environment file is one line naming the file, the key and what would be right."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from terraform import environment as environment_module
from terraform.environment import ENVIRONMENTS_DIR, Environment
from terraform.environment_schema import EnvironmentFileError, check_file, schedule_problem
from terraform.main import main as synth_main

Change = Callable[[dict[str, Any]], None]
INJECTED = "owner@example.com\nBcc: x@example.com"


def dev() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((ENVIRONMENTS_DIR / "dev.json").read_text(encoding="utf-8"))
    return document


def write(directory: Path, document: dict[str, Any], name: str = "dev") -> Path:
    path = directory / f"{name}.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def problems_after(change: Change, tmp_path: Path) -> list[str]:
    document = dev()
    change(document)
    path = write(tmp_path, document)
    found, problems = check_file(path)
    assert found is None
    prefix = f"{path}: "
    assert all(line.startswith(prefix) and "\n" not in line for line in problems)
    return [line[len(prefix) :] for line in problems]


def test_the_committed_environment_files_are_valid() -> None:
    for path in sorted(ENVIRONMENTS_DIR.glob("*.json")):
        assert check_file(path)[1] == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            lambda d: d.pop("region"),
            "region: missing: add an AWS region name such as eu-west-2",
            id="a required key is missing",
        ),
        pytest.param(
            lambda d: d.update(colour="blue"),
            "colour: unknown key: the keys here are environment, region, name_prefix, owner, "
            "state_bucket, alert_email, log_retention_days, deletion_protection, "
            "max_receive_count, oldest_message_alarm_seconds, monthly_budget_usd, "
            "silent_worker_alarm_hours, processor, reporter, local_aws",
            id="an unknown key",
        ),
        pytest.param(
            lambda d: d["processor"].update(memroy_mb=256),
            "processor.memroy_mb: unknown key: the keys here are memory_mb, timeout_seconds, "
            "architecture, maximum_concurrency, sweep_schedule, settings",
            id="an unknown nested key",
        ),
        pytest.param(
            lambda d: d.update(deletion_protection="false"),
            'deletion_protection: "false" is not true or false, as a JSON boolean without quotes',
            id="a boolean written as a string",
        ),
        pytest.param(
            lambda d: d.update(max_receive_count="5"),
            'max_receive_count: "5" is not SQS maxReceiveCount: a whole number from 1 to 1000',
            id="a number written as a string",
        ),
        pytest.param(
            lambda d: d.update(max_receive_count=0),
            "max_receive_count: 0 is not SQS maxReceiveCount: a whole number from 1 to 1000",
            id="maxReceiveCount below 1",
        ),
        pytest.param(
            lambda d: d.update(max_receive_count=1001),
            "max_receive_count: 1001 is not SQS maxReceiveCount: a whole number from 1 to 1000",
            id="maxReceiveCount above 1000",
        ),
        pytest.param(
            lambda d: d.update(monthly_budget_usd=0),
            "monthly_budget_usd: 0 is not the monthly AWS Budgets cost limit in US dollars, a number "
            "above 0 such as 5 or 2.50 (e-mails at 80 % of actual and 100 % of forecast spend)",
            id="a budget of nothing",
        ),
        pytest.param(
            lambda d: d.update(monthly_budget_usd="5"),
            'monthly_budget_usd: "5" is not the monthly AWS Budgets cost limit in US dollars, a number '
            "above 0 such as 5 or 2.50 (e-mails at 80 % of actual and 100 % of forecast spend)",
            id="a budget written as a string",
        ),
        pytest.param(
            lambda d: d.update(silent_worker_alarm_hours=169),
            "silent_worker_alarm_hours: 169 is not hours without an event on the queue before the "
            "silent-Worker alarm fires: a whole number from 1 to 168 (7 days)",
            id="a silence longer than CloudWatch evaluates",
        ),
        pytest.param(
            lambda d: d.update(silent_worker_alarm_hours=1.5),
            "silent_worker_alarm_hours: 1.5 is not hours without an event on the queue before the "
            "silent-Worker alarm fires: a whole number from 1 to 168 (7 days)",
            id="a silence in part hours",
        ),
        pytest.param(
            lambda d: d.update(region="eu-west-22"),
            'region: "eu-west-22" is not an AWS region name such as eu-west-2',
            id="an unknown region",
        ),
        pytest.param(
            lambda d: d["processor"].update(timeout_seconds=1000),
            "processor.timeout_seconds: 1000 is not Lambda timeout: a whole number of seconds from 1 to 900",
            id="a Lambda timeout above 900",
        ),
        pytest.param(
            lambda d: d["reporter"].update(memory_mb=64),
            "reporter.memory_mb: 64 is not Lambda memory in MB: a whole number from 128 to 10240",
            id="Lambda memory below 128",
        ),
        pytest.param(
            lambda d: d["reporter"].update(memory_mb=10241),
            "reporter.memory_mb: 10241 is not Lambda memory in MB: a whole number from 128 to 10240",
            id="Lambda memory above 10240",
        ),
        pytest.param(
            lambda d: d["processor"].update(architecture="x86"),
            'processor.architecture: "x86" is not a Lambda architecture: arm64 or x86_64',
            id="an unknown architecture",
        ),
        pytest.param(
            lambda d: d["processor"].update(architecture="x86_64"),
            'processor.architecture: "x86_64" is a Lambda architecture, but the zips are built '
            "for arm64 (manylinux2014_aarch64): use arm64",
            id="an architecture the zips are not built for",
        ),
        pytest.param(
            lambda d: d["reporter"].update(schedule="every monday"),
            'reporter.schedule: "every monday" is not an EventBridge Scheduler expression: '
            "rate(7 days), cron(0 9 ? * MON *) or at(2026-01-31T09:00:00) (not rate(...), "
            "cron(...) or at(...))",
            id="a schedule that is no expression",
        ),
        pytest.param(
            lambda d: d["reporter"]["rollup"].update(schedule="hourly"),
            'reporter.rollup.schedule: "hourly" is not an EventBridge Scheduler expression evaluated in '
            "UTC: rate(1 hour), cron(5 * * * ? *) or at(2026-01-31T09:00:00) (not rate(...), cron(...) "
            "or at(...))",
            id="a roll-up schedule that is no expression",
        ),
        pytest.param(
            lambda d: d["reporter"]["rollup"].pop("timeout_seconds"),
            "reporter.rollup.timeout_seconds: missing: add Lambda timeout: a whole number of seconds "
            "from 1 to 900",
            id="the roll-up's timeout is missing",
        ),
        pytest.param(
            lambda d: d["reporter"]["rollup"].update(memory_mb=10241),
            "reporter.rollup.memory_mb: 10241 is not Lambda memory in MB: a whole number from 128 to 10240",
            id="roll-up memory above 10240",
        ),
        pytest.param(
            lambda d: d["reporter"]["rollup"].update(architecture="arm64"),
            "reporter.rollup.architecture: unknown key: the keys here are memory_mb, timeout_seconds, "
            "schedule",
            id="the roll-up runs on the reporter's architecture",
        ),
        pytest.param(
            lambda d: d["reporter"]["rollup"].update(settings={}),
            "reporter.rollup.settings: unknown key: the keys here are memory_mb, timeout_seconds, schedule",
            id="the roll-up reads the reporter's settings",
        ),
        pytest.param(
            lambda d: d["reporter"].update(schedule_timezone="Europe/Londn"),
            'reporter.schedule_timezone: "Europe/Londn" is not an IANA time zone such as Europe/London',
            id="an unknown time zone",
        ),
        pytest.param(
            lambda d: d.update(log_retention_days=13),
            "log_retention_days: 13 is not one of CloudWatch's retention periods in days: 1, 3, "
            "5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, "
            "2922, 3288 or 3653",
            id="a log retention CloudWatch does not offer",
        ),
        pytest.param(
            lambda d: d.update(alert_email="owner at example.com"),
            'alert_email: "owner at example.com" is not an e-mail address for the alarms, such '
            "as name@example.com",
            id="an alert address that is no address",
        ),
        pytest.param(
            lambda d: d["reporter"].update(ses_identity="not a domain"),
            'reporter.ses_identity: "not a domain" is not a verified SES identity: an e-mail '
            "address or a domain such as example.com",
            id="an SES identity that is neither address nor domain",
        ),
        pytest.param(
            lambda d: d.update(environment="prod"),
            'environment: "prod" is not the file\'s name "dev"',
            id="the environment is not the file",
        ),
        pytest.param(
            lambda d: d["processor"]["settings"].update(ORPHAN_AFTER="900"),
            "processor.settings.ORPHAN_AFTER: ProcessorSettings reads no such variable; it reads "
            "QUERY_EVENTS_TABLE, ANALYTICS_TABLE, ANALYTICS_WRITE_SHARDS, "
            "POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_LOG_LEVEL, ORPHAN_AFTER_SECONDS, "
            "INTERIM_TTL_SECONDS, POWERTOOLS_SERVICE_NAME",
            id="a variable the function does not read",
        ),
        pytest.param(
            lambda d: d["processor"]["settings"].update(ORPHAN_AFTER_SECONDS=900),
            "processor.settings.ORPHAN_AFTER_SECONDS: 900 is not the variable's value as a string, in quotes",
            id="a variable's value that is not a string",
        ),
        pytest.param(
            lambda d: d["processor"]["settings"].update(ORPHAN_AFTER_SECONDS="soon"),
            "processor.settings.ORPHAN_AFTER_SECONDS: ORPHAN_AFTER_SECONDS='soon' is not a whole "
            "number (how long a half may wait for its other half before the sweep records it as "
            "an orphan)",
            id="a variable its settings class refuses",
        ),
        pytest.param(
            lambda d: d["reporter"]["settings"].update(REPORT_RECIPIENTS=INJECTED),
            "reporter.settings.REPORT_RECIPIENTS: REPORT_RECIPIENTS entry 'owner@example.com\\nBcc: "
            "x@example.com' holds a line break (CR or LF): give comma-separated addresses such as "
            "owner@example.com",
            id="a recipient with a line break",
        ),
        pytest.param(
            lambda d: d["reporter"]["settings"].update(REPORT_SENDER="other@elsewhere.com"),
            "reporter.settings.REPORT_SENDER: REPORT_SENDER 'other@elsewhere.com' is not covered "
            "by ses_identity 'reports@example.com': the sender must be that address, or an "
            "address at that domain when the identity is a domain",
            id="a sender outside the SES identity",
        ),
    ],
)
def test_each_rule_gives_one_line_naming_the_key_and_what_is_right(
    tmp_path: Path, change: Change, expected: str
) -> None:
    assert problems_after(change, tmp_path) == [expected]


def test_every_mistake_in_a_file_is_reported_at_once(tmp_path: Path) -> None:
    def many(document: dict[str, Any]) -> None:
        document.pop("region")
        document["max_receive_count"] = 0
        document["reporter"]["architecture"] = "x86"

    assert [line.split(":")[0] for line in problems_after(many, tmp_path)] == [
        "max_receive_count",
        "region",
        "reporter.architecture",
    ]


def test_a_file_that_is_not_json_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "dev.json"
    path.write_text('{"environment": "dev",\n  "region": eu-west-2}', encoding="utf-8")
    assert check_file(path)[1] == [f"{path}: line 2 column 13: not valid JSON (Expecting value)"]


def test_a_key_with_a_default_may_be_left_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    document = dev()
    del document["oldest_message_alarm_seconds"], document["processor"]["maximum_concurrency"]
    del document["silent_worker_alarm_hours"]
    write(tmp_path, document)
    monkeypatch.setattr(environment_module, "ENVIRONMENTS_DIR", tmp_path)
    env = Environment.load("dev")
    assert (env.oldest_message_alarm_seconds, env.processor.maximum_concurrency) == (900, 2)
    assert env.silent_worker_alarm_hours == 24


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("rate(15 minutes)", None),
        ("rate(1 hour)", None),
        ("cron(0 9 ? * MON *)", None),
        ("cron(0/15 8-18 ? * MON-FRI *)", None),
        ("cron(0 9 L * ? 2026)", None),
        ("at(2026-01-31T09:00:00)", None),
        ("rate(1 minutes)", "write rate(1 minute)"),
        ("rate(0 hours)", "a rate must be 1 or more"),
        ("cron(0 9 * * MON *)", "cron() needs ? in exactly one of day-of-month and day-of-week"),
        ("cron(0 25 ? * MON *)", "cron()'s hours field '25' is out of range"),
        ("cron(0 9 ? * MON)", "cron() takes six fields: minutes hours day-of-month month day-of-week year"),
        ("at(2026-02-30T09:00:00)", "at() needs a real date and time"),
    ],
)
def test_schedule_expressions_are_read_as_eventbridge_scheduler_reads_them(
    expression: str, problem: str | None
) -> None:
    assert schedule_problem(expression) == problem


def test_synth_refuses_a_bad_file_with_one_line_per_mistake_and_no_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    document = dev()
    document["reporter"]["schedule_timezone"] = "Europe/Londn"
    write(tmp_path, document)
    monkeypatch.setattr(environment_module, "ENVIRONMENTS_DIR", tmp_path)
    with pytest.raises(EnvironmentFileError):
        Environment.load("dev")
    assert synth_main(["dev"]) == 1
    line = f'{tmp_path / "dev.json"}: reporter.schedule_timezone: "Europe/Londn" is not an IANA time zone'
    assert capsys.readouterr().err.splitlines() == [f"{line} such as Europe/London"]


def test_check_env_prints_each_mistake_on_one_line_and_exits_1(tmp_path: Path) -> None:
    document = dev()
    document.pop("region")
    document["processor"]["timeout_seconds"] = 1000
    bad = write(tmp_path, document)
    command = [sys.executable, "-m", "terraform.environment_schema"]
    result = subprocess.run([*command, str(bad)], capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"{bad}: processor.timeout_seconds: 1000 is not Lambda timeout: a whole number of seconds from 1 "
        "to 900",
        f"{bad}: region: missing: add an AWS region name such as eu-west-2",
        f"2 problem(s) in {bad}",
    ]
    fine = subprocess.run([*command, "dev", "prod"], capture_output=True, text=True, check=False)
    assert (fine.returncode, fine.stdout.strip()) == (
        0,
        "valid: terraform/environments/dev.json, terraform/environments/prod.json",
    )
