"""The owner's guardrails as synthesized: the monthly cost budget and the silent-Worker alarm."""

from __future__ import annotations

from typing import Any

import pytest

from terraform.environment import PROJECT, Environment
from tests.infra.conftest import Synth

ENVIRONMENTS = ("dev", "prod", "local")


def _only(resources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    assert len(resources) == 1, sorted(resources)
    return next(iter(resources.values()))


def _alert_topic(synth: Synth, env_name: str) -> str:
    (name,) = synth.resources(f"infra-{env_name}", "aws_sns_topic")
    return f"${{aws_sns_topic.{name}.arn}}"


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_the_budget_is_the_environment_files_amount_a_month_for_the_projects_tag(
    synth: Synth, env_name: str
) -> None:
    env = Environment.load(env_name)
    budget = _only(synth.resources(f"infra-{env_name}", "aws_budgets_budget"))
    assert budget["name"] == f"{env.name_prefix}-monthly-cost"
    assert (budget["budget_type"], budget["time_unit"], budget["limit_unit"]) == ("COST", "MONTHLY", "USD")
    assert float(budget["limit_amount"]) == env.monthly_budget_usd
    assert budget["cost_filter"] == [{"name": "TagKeyValue", "values": [f"user:Project${PROJECT}"]}]


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_the_budget_mails_the_alert_address_at_80_percent_actual_and_100_percent_forecast(
    synth: Synth, env_name: str
) -> None:
    env = Environment.load(env_name)
    budget = _only(synth.resources(f"infra-{env_name}", "aws_budgets_budget"))
    alerts = {
        (n["notification_type"], n["threshold"], n["threshold_type"], n["comparison_operator"]): n[
            "subscriber_email_addresses"
        ]
        for n in budget["notification"]
    }
    assert alerts == {
        ("ACTUAL", 80, "PERCENTAGE", "GREATER_THAN"): [env.alert_email],
        ("FORECASTED", 100, "PERCENTAGE", "GREATER_THAN"): [env.alert_email],
    }


def _silent_alarm(synth: Synth, env_name: str) -> dict[str, Any]:
    alarms = synth.resources(f"infra-{env_name}", "aws_cloudwatch_metric_alarm")
    return _only({k: v for k, v in alarms.items() if v["metric_name"] == "NumberOfMessagesSent"})


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_the_silent_worker_alarm_fires_after_the_configured_hours_without_a_sent_message(
    synth: Synth, env_name: str
) -> None:
    env = Environment.load(env_name)
    alarm = _silent_alarm(synth, env_name)
    (queue,) = (
        name
        for name, body in synth.resources(f"infra-{env_name}", "aws_sqs_queue").items()
        if "redrive" not in name and "dlq" not in body["name"]
    )
    assert env.silent_worker_alarm_hours == 24
    assert alarm["alarm_name"] == f"{env.name_prefix}-worker-silent"
    assert (alarm["namespace"], alarm["statistic"]) == ("AWS/SQS", "Sum")
    assert alarm["dimensions"] == {"QueueName": f"${{aws_sqs_queue.{queue}.name}}"}
    # Every one of 24 hourly sums below one message: 24 hours of silence, no fewer.
    assert (alarm["period"], alarm["evaluation_periods"], alarm["datapoints_to_alarm"]) == (3600, 24, 24)
    assert (alarm["comparison_operator"], alarm["threshold"]) == ("LessThanThreshold", 1)
    assert alarm["treat_missing_data"] == "breaching"


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_the_silent_worker_alarm_notifies_the_alert_topic_only_once_armed(
    synth: Synth, env_name: str
) -> None:
    alarm = _silent_alarm(synth, env_name)
    topic = _alert_topic(synth, env_name)
    assert alarm["alarm_actions"] == [topic]
    assert alarm["ok_actions"] == [topic]
    # Created silent, so a fresh environment does not page before its first event; once
    # `arm-silent-alarm` enables the actions, a later apply must not switch them off again.
    assert alarm["actions_enabled"] is False
    assert alarm["lifecycle"] == {"ignore_changes": ["actions_enabled"]}


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_every_other_alarm_has_its_actions_on(synth: Synth, env_name: str) -> None:
    """What checkov's CKV_AWS_319 would check, which terraform/checkov.py skips for the silent alarm."""
    alarms = synth.resources(f"infra-{env_name}", "aws_cloudwatch_metric_alarm")
    others = [a for a in alarms.values() if a["metric_name"] != "NumberOfMessagesSent"]
    assert len(others) == 6  # the DLQ, the oldest message's age, each function's errors
    assert all(a.get("actions_enabled", True) is True and a["alarm_actions"] for a in others)
