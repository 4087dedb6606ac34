"""The synthesized stacks do what the design promises: checked on the Terraform JSON itself."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from cdktn import App
from cdktn import Testing as CdkTesting
from cdktn_provider_aws.dynamodb_table import DynamodbTable
from cdktn_provider_aws.lambda_alias import LambdaAlias
from cdktn_provider_aws.lambda_event_source_mapping import LambdaEventSourceMapping
from cdktn_provider_aws.lambda_function import LambdaFunction
from cdktn_provider_aws.scheduler_schedule import SchedulerSchedule
from cdktn_provider_aws.sqs_queue import SqsQueue

from contract.config import environment_variables
from contract.resources import EVENT_SOURCE, FOURTEEN_DAYS_SECONDS, queue_with_dlq, table_names
from contract.tables import AnalyticsItem, InterimRequest, table_definition
from cv_analytics.local.dev import RECURRING_SCHEDULES
from processor.settings import ProcessorSettings
from reporter.settings import ReporterSettings
from terraform.environment import STACK_KINDS, Environment
from terraform.environment_schema import check_sender_identity
from terraform.stacks.functions import ReporterStack
from tests.infra.conftest import Synth

ENVIRONMENTS = ("dev", "prod")


def _policies(stack: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for type_, items in stack.get("resource", {}).items():
        for name, body in items.items():
            for attribute in ("policy", "assume_role_policy"):
                if isinstance(body.get(attribute), str):
                    found.append((f"{type_}.{name}.{attribute}", json.loads(body[attribute])))
    return found


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_fifo_queue_redrives_to_a_fifo_dlq_after_max_receive_count(synth: Synth, env_name: str) -> None:
    env = Environment.load(env_name)
    spec = queue_with_dlq(
        env.name_prefix,
        max_receive_count=env.max_receive_count,
        consumer_timeout_seconds=env.processor.timeout_seconds,
    )
    infra = synth.raw[f"infra-{env_name}"]
    for queue in (spec.queue, spec.dead_letter):
        assert CdkTesting.to_have_resource_with_properties(
            infra,
            SqsQueue.TF_RESOURCE_TYPE,
            {
                "name": queue.name,
                "fifo_queue": True,
                "sqs_managed_sse_enabled": True,
                "message_retention_seconds": queue.message_retention_seconds,
                "visibility_timeout_seconds": env.processor.timeout_seconds * 6,
            },
        )
    queues = {
        body["name"]: (name, body)
        for name, body in synth.resources(f"infra-{env_name}", "aws_sqs_queue").items()
    }
    dlq_id, dlq = queues[spec.dead_letter.name]
    assert dlq["message_retention_seconds"] == FOURTEEN_DAYS_SECONDS
    queue_id, main_queue = queues[spec.queue.name]
    assert "redrive_policy" not in main_queue  # its own resource, so both queues are created at once
    (policy,) = synth.resources(f"infra-{env_name}", "aws_sqs_queue_redrive_policy").values()
    assert policy["queue_url"] == f"${{aws_sqs_queue.{queue_id}.url}}"
    redrive = json.loads(policy["redrive_policy"])
    assert redrive == {
        "deadLetterTargetArn": f"${{aws_sqs_queue.{dlq_id}.arn}}",
        "maxReceiveCount": env.max_receive_count,
    }
    (allow,) = synth.resources(f"infra-{env_name}", "aws_sqs_queue_redrive_allow_policy").values()
    assert allow["queue_url"] == f"${{aws_sqs_queue.{dlq_id}.url}}"
    assert json.loads(allow["redrive_allow_policy"]) == {
        "redrivePermission": "byQueue",
        "sourceQueueArns": [f"${{aws_sqs_queue.{queue_id}.arn}}"],
    }


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_tables_are_exactly_what_the_models_say(synth: Synth, env_name: str) -> None:
    env = Environment.load(env_name)
    names = table_names(env.name_prefix)
    tables = {
        body["name"]: body for body in synth.resources(f"infra-{env_name}", "aws_dynamodb_table").values()
    }
    assert set(tables) == set(names.values())
    for model, name in (
        (InterimRequest, names["QUERY_EVENTS_TABLE"]),
        (AnalyticsItem, names["ANALYTICS_TABLE"]),
    ):
        definition = table_definition(model)
        table = tables[name]
        keys = {k["key_type"]: k["attribute_name"] for k in definition["key_schema"]}
        assert table["hash_key"] == keys["HASH"]
        assert table.get("range_key") == keys.get("RANGE")
        assert sorted((a["name"], a["type"]) for a in table["attribute"]) == sorted(
            (a["attribute_name"], a["attribute_type"]) for a in definition["attribute_definitions"]
        )
        indexes = table.get("global_secondary_index", [])
        assert [(i["name"], i["hash_key"], i.get("range_key"), i["projection_type"]) for i in indexes] == [
            (
                i["index_name"],
                next(k["attribute_name"] for k in i["key_schema"] if k["key_type"] == "HASH"),
                next((k["attribute_name"] for k in i["key_schema"] if k["key_type"] == "RANGE"), None),
                i["projection_type"],
            )
            for i in definition["global_secondary_indexes"]
        ]
        if definition["ttl_attribute"]:
            assert table["ttl"] == {"attribute_name": definition["ttl_attribute"], "enabled": True}
        else:
            assert "ttl" not in table
        assert CdkTesting.to_have_resource_with_properties(
            synth.raw[f"infra-{env_name}"],
            DynamodbTable.TF_RESOURCE_TYPE,
            {
                "name": name,
                "billing_mode": "PAY_PER_REQUEST",
                "point_in_time_recovery": {"enabled": True},
                "server_side_encryption": {"enabled": True},
                "deletion_protection_enabled": env.deletion_protection,
            },
        )
    assert Environment.load("prod").deletion_protection


def test_no_allow_statement_grants_a_wildcard_action_or_resource(synth: Synth) -> None:
    checked = 0
    for name in synth.raw:
        for where, document in _policies(synth.stack(name)):
            for statement in document["Statement"]:
                if statement["Effect"] != "Allow":
                    continue  # a Deny (the state bucket's TLS-only rule) narrows access
                actions = (
                    statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                )
                assert all("*" not in action for action in actions), f"{name} {where}: {actions}"
                for resource in statement.get("Resource", []):
                    checked += 1
                    assert resource.startswith(("arn:aws:", "${")), f"{name} {where}: {resource}"
                    # The one `*`: log streams of the function's own log group (`<group arn>:*`).
                    scoped = resource.removesuffix(":*") if ".arn}" in resource else resource
                    assert "*" not in scoped, f"{name} {where}: {resource}"
    assert checked > 20


def test_edge_publisher_may_only_send_to_the_queue(synth: Synth) -> None:
    (policy,) = synth.resources("infra-dev", "aws_iam_group_policy").values()
    (statement,) = json.loads(policy["policy"])["Statement"]
    (queue_id,) = [
        k for k, v in synth.resources("infra-dev", "aws_sqs_queue").items() if "dlq" not in v["name"]
    ]
    assert statement["Action"] == ["sqs:SendMessage"]
    assert statement["Resource"] == [f"${{aws_sqs_queue.{queue_id}.arn}}"]
    assert not synth.resources("infra-dev", "aws_iam_access_key"), "the secret would land in the state file"


@pytest.mark.parametrize("kind", STACK_KINDS)
def test_every_resource_is_tagged_through_the_provider_default_tags(synth: Synth, kind: str) -> None:
    for env_name in ENVIRONMENTS:
        stack = synth.stack(f"{kind}-{env_name}")
        (provider,) = stack["provider"]["aws"]
        (default_tags,) = provider["default_tags"]
        assert default_tags["tags"] == {
            "Project": "cv-analytics",
            "Component": kind,
            "Environment": env_name,
            "Owner": Environment.load(env_name).owner,
        }
        for type_, items in stack.get("resource", {}).items():
            for name, body in items.items():
                assert "provider" not in body, f"{type_}.{name} escapes the tagged provider"


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_state_lives_in_one_bucket_per_environment_and_functions_read_infra_remotely(
    synth: Synth, env_name: str
) -> None:
    env = Environment.load(env_name)
    assert "local" in synth.stack(f"state-{env_name}")["terraform"]["backend"]
    for kind in ("infra", "processor", "reporter"):
        backend = synth.stack(f"{kind}-{env_name}")["terraform"]["backend"]["s3"]
        assert backend == {
            "bucket": env.state_bucket,
            "key": f"cv-analytics/{env_name}/{kind}.tfstate",
            "region": env.region,
            "encrypt": True,
            "use_lockfile": True,
        }
    for kind in ("processor", "reporter"):
        stack = synth.stack(f"{kind}-{env_name}")
        remote = stack["data"]["terraform_remote_state"]["infra"]
        assert remote["backend"] == "s3"
        assert remote["config"]["key"] == env.state_key("infra")
        assert remote["config"]["bucket"] == env.state_bucket
        assert "aws_sqs_queue" not in stack.get("resource", {}), "a function stack must not own infra"
    infra_outputs = synth.stack(f"infra-{env_name}")["output"]
    for kind in ("processor", "reporter"):
        text = synth.raw[f"{kind}-{env_name}"]
        for output in {
            part.split("}")[0] for part in text.split("data.terraform_remote_state.infra.outputs.")[1:]
        }:
            assert output in infra_outputs, f"{kind} reads {output}, which infra does not output"


@pytest.mark.parametrize(
    ("stack", "function", "handler", "settings_class"),
    [
        ("processor", "processor", "processor.handler.handle", ProcessorSettings),
        ("processor", "sweep", "processor.handler.sweep", ProcessorSettings),
        ("reporter", "reporter", "reporter.handler.handle", ReporterSettings),
        ("reporter", "rollup", "reporter.handler.roll_up", ReporterSettings),
    ],
)
def test_each_function_gets_exactly_the_variables_its_settings_read(
    synth: Synth, stack: str, function: str, handler: str, settings_class: type[Any]
) -> None:
    for env_name in ENVIRONMENTS:
        env = Environment.load(env_name)
        functions = {
            f["function_name"]: f
            for f in synth.resources(f"{stack}-{env_name}", "aws_lambda_function").values()
        }
        body = functions[env.function_name(function)]
        assert sorted(body["environment"]["variables"]) == sorted(environment_variables(settings_class))
        assert CdkTesting.to_have_resource_with_properties(
            synth.raw[f"{stack}-{env_name}"],
            LambdaFunction.TF_RESOURCE_TYPE,
            {
                "function_name": env.function_name(function),
                "handler": handler,
                "runtime": "python3.12",
                "architectures": ["arm64"],
                "publish": True,
            },
        )
        assert CdkTesting.to_have_resource_with_properties(
            synth.raw[f"{stack}-{env_name}"], LambdaAlias.TF_RESOURCE_TYPE, {"name": "live"}
        )


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_a_report_attempt_owns_its_week_for_exactly_the_reporters_timeout(
    synth: Synth, env_name: str
) -> None:
    """Shorter, and a slow attempt could be overtaken by a retry that sends again; longer delays retries."""
    env = Environment.load(env_name)
    functions = synth.resources(f"reporter-{env_name}", "aws_lambda_function").values()
    (reporter,) = [f for f in functions if f["function_name"] == env.function_name("reporter")]
    variables = reporter["environment"]["variables"]
    assert variables["REPORT_CLAIM_SECONDS"] == str(reporter["timeout"]) == str(env.reporter.timeout_seconds)


def _function(synth: Synth, stack: str, name: str) -> tuple[str, dict[str, Any]]:
    """The function named `name` in `stack`: its resource id and body."""
    functions = synth.resources(stack, "aws_lambda_function").items()
    (found,) = [(key, body) for key, body in functions if body["function_name"] == name]
    return found


def _alias_of(synth: Synth, stack: str, function_id: str) -> str:
    (alias_id,) = [
        k
        for k, v in synth.resources(stack, "aws_lambda_alias").items()
        if v["function_name"] == f"${{aws_lambda_function.{function_id}.function_name}}"
    ]
    return f"${{aws_lambda_alias.{alias_id}.arn}}"


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_the_rollup_runs_the_reporters_zip_and_settings_with_its_own_memory_and_timeout(
    synth: Synth, env_name: str
) -> None:
    """One full vCPU (1769 MB) for parsing a day of records; the same variables as the reporter, so both
    read days in one REPORT_TIMEZONE."""
    env = Environment.load(env_name)
    stack = f"reporter-{env_name}"
    _, rollup = _function(synth, stack, env.function_name("rollup"))
    _, reporter = _function(synth, stack, env.function_name("reporter"))
    assert rollup["handler"] == "reporter.handler.roll_up"
    assert (rollup["memory_size"], rollup["timeout"]) == (
        env.reporter.rollup.memory_mb,
        env.reporter.rollup.timeout_seconds,
    )
    assert rollup["memory_size"] >= 1769, "Lambda gives one full vCPU from 1769 MB"
    assert rollup["environment"] == reporter["environment"]
    for key in ("filename", "source_code_hash", "architectures", "runtime"):
        assert rollup[key] == reporter[key], key


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_the_rollup_schedule_fires_its_alias_hourly_in_utc_without_retries_or_input(
    synth: Synth, env_name: str
) -> None:
    env = Environment.load(env_name)
    stack = f"reporter-{env_name}"
    function_id, _ = _function(synth, stack, env.function_name("rollup"))
    schedules = {s["name"]: s for s in synth.resources(stack, "aws_scheduler_schedule").values()}
    schedule = schedules[f"{env.name_prefix}-rollup"]
    assert schedule["schedule_expression"] == env.reporter.rollup.schedule == "rate(1 hour)"
    assert schedule["schedule_expression_timezone"] == "UTC"
    assert schedule["target"]["arn"] == _alias_of(synth, stack, function_id)
    assert schedule["target"]["retry_policy"] == {"maximum_retry_attempts": 0}
    assert "input" not in schedule["target"], "the roll-up measures which days are due from when it runs"


def test_the_local_runtime_fires_schedules_by_the_names_the_local_stacks_give_them(synth: Synth) -> None:
    """The demo and `cv-analytics dev` find each schedule as `<name prefix>-<kind>` on the twin."""
    prefix = Environment.load("local").name_prefix
    deployed = {
        body["name"]
        for stack in ("processor-local", "reporter-local")
        for body in synth.resources(stack, "aws_scheduler_schedule").values()
    }
    assert deployed == {f"{prefix}-{kind}" for kind in ("sweep", "rollup", "weekly-report")}
    assert {f"{prefix}-{kind}" for kind in RECURRING_SCHEDULES} <= deployed


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_every_function_has_an_error_alarm_on_its_name(synth: Synth, env_name: str) -> None:
    names = {
        body["function_name"]
        for stack in ("processor", "reporter")
        for body in synth.resources(f"{stack}-{env_name}", "aws_lambda_function").values()
    }
    alarms = synth.resources(f"infra-{env_name}", "aws_cloudwatch_metric_alarm").values()
    alarmed = {
        a["dimensions"]["FunctionName"]
        for a in alarms
        if (a["namespace"], a["metric_name"], a["statistic"], a["threshold"])
        == ("AWS/Lambda", "Errors", "Sum", 0)
    }
    assert len(names) == 4
    assert alarmed == names


def test_processor_consumes_the_queue_through_its_live_alias(synth: Synth) -> None:
    (alias_id,) = [
        k for k, v in synth.resources("processor-dev", "aws_lambda_alias").items() if "sweep" not in k
    ]
    assert CdkTesting.to_have_resource_with_properties(
        synth.raw["processor-dev"],
        LambdaEventSourceMapping.TF_RESOURCE_TYPE,
        {
            "function_name": f"${{aws_lambda_alias.{alias_id}.arn}}",
            "event_source_arn": "${data.terraform_remote_state.infra.outputs.queue_arn}",
            "batch_size": EVENT_SOURCE.batch_size,
            "function_response_types": ["ReportBatchItemFailures"],
            "scaling_config": {"maximum_concurrency": 2},
        },
    )


def test_schedules_sweep_every_15_minutes_and_report_monday_9_in_london(synth: Synth) -> None:
    assert CdkTesting.to_have_resource_with_properties(
        synth.raw["processor-dev"],
        SchedulerSchedule.TF_RESOURCE_TYPE,
        {"schedule_expression": "rate(15 minutes)", "schedule_expression_timezone": "UTC"},
    )
    assert CdkTesting.to_have_resource_with_properties(
        synth.raw["reporter-prod"],
        SchedulerSchedule.TF_RESOURCE_TYPE,
        {"schedule_expression": "cron(0 9 ? * MON *)", "schedule_expression_timezone": "Europe/London"},
    )
    schedules = {s["name"]: s for s in synth.resources("reporter-prod", "aws_scheduler_schedule").values()}
    function_id, _ = _function(synth, "reporter-prod", "cv-analytics-prod-reporter")
    weekly = schedules["cv-analytics-prod-weekly-report"]
    assert weekly["target"]["arn"] == _alias_of(synth, "reporter-prod", function_id)


INFRA_OUTPUT = "${data.terraform_remote_state.infra.outputs."
QUERY_EVENTS = f"{INFRA_OUTPUT}query_events_table_arn}}"
PENDING_INDEX = f"{QUERY_EVENTS}/index/pending-by-first-seen"
ANALYTICS = f"{INFRA_OUTPUT}analytics_table_arn}}"
LATE_INDEX = f"{ANALYTICS}/index/late-records"
# What the code calls, per resource: processor/repository.py for both processor functions; reporter/store.py,
# marker.py (conditional UpdateItem only) and mailer.py for the reporter; for the roll-up, its reads of day
# and rollup partitions and of flagged records, its rollup parts (Put and Delete in one transaction) and the
# late flags it removes. Written out here on purpose, so a widened or narrowed grant fails this test rather
# than silently following a changed constant.
PROCESSOR_TABLES = {
    QUERY_EVENTS: {"dynamodb:GetItem", "dynamodb:UpdateItem"},
    ANALYTICS: {"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
}
EXPECTED_GRANTS: dict[str, dict[str, set[str]]] = {
    "processor": {
        **PROCESSOR_TABLES,
        f"{INFRA_OUTPUT}queue_arn}}": {
            "sqs:ChangeMessageVisibility",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
            "sqs:ReceiveMessage",
        },
    },
    "sweep": {**PROCESSOR_TABLES, PENDING_INDEX: {"dynamodb:Query"}},  # only the sweep reads the index
    "reporter": {
        ANALYTICS: {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem"},
        PENDING_INDEX: {"dynamodb:Query"},
        LATE_INDEX: {"dynamodb:Query"},  # which days have late records, before their rollups are trusted
        f"{INFRA_OUTPUT}dlq_arn}}": {"sqs:GetQueueAttributes"},
    },
    "rollup": {
        ANALYTICS: {
            "dynamodb:DeleteItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
        },
        LATE_INDEX: {"dynamodb:Query"},
    },
}


def _grants_by_resource(document: dict[str, Any]) -> dict[str, set[str]]:
    grants: dict[str, set[str]] = {}
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow"
        assert set(statement) <= {"Sid", "Effect", "Action", "Resource"}, statement
        for resource in statement["Resource"]:
            grants.setdefault(resource, set()).update(statement["Action"])
    return grants


@pytest.mark.parametrize(("stack", "function"), [("processor", "processor"), ("processor", "sweep"),
                                                 ("reporter", "reporter"),
                                                 ("reporter", "rollup")])  # fmt: skip
@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_each_function_role_grants_exactly_the_actions_its_code_calls_per_resource(
    synth: Synth, stack: str, function: str, env_name: str
) -> None:
    env = Environment.load(env_name)
    policies = synth.resources(f"{stack}-{env_name}", "aws_iam_role_policy")
    (policy,) = [p for p in policies.values() if p["name"] == f"{env.function_name(function)}-policy"]
    grants = _grants_by_resource(json.loads(policy["policy"]))
    (log_group_id,) = [
        k
        for k, v in synth.resources(f"{stack}-{env_name}", "aws_cloudwatch_log_group").items()
        if v["name"] == f"/aws/lambda/{env.function_name(function)}"
    ]
    expected = {
        **EXPECTED_GRANTS[function],
        f"${{aws_cloudwatch_log_group.{log_group_id}.arn}}:*": {"logs:CreateLogStream", "logs:PutLogEvents"},
    }
    if function == "reporter":
        identity = env.reporter.ses_identity
        (account_id,) = synth.stack(f"{stack}-{env_name}")["data"]["aws_caller_identity"]
        account = f"${{data.aws_caller_identity.{account_id}.account_id}}"
        expected[f"arn:aws:ses:{env.region}:{account}:identity/{identity}"] = {"ses:SendRawEmail"}
    assert grants == expected


@pytest.mark.parametrize(
    ("sender", "identity"),
    [
        ("reports@example.com", "reports@example.com"),
        ("Reports@Example.com", "reports@example.com"),
        ("reports@example.com", "example.com"),
        ("weekly@Example.COM", "example.com"),
    ],
)
def test_a_sender_covered_by_the_ses_identity_is_accepted(sender: str, identity: str) -> None:
    check_sender_identity(sender, identity)


@pytest.mark.parametrize(
    ("sender", "identity"),
    [
        ("reports@example.org", "reports@example.com"),
        ("other@example.com", "reports@example.com"),
        ("reports@mail.example.com", "example.com"),
        ("reports@notexample.com", "example.com"),
        ("example.com", "example.com@"),
        ("", "example.com"),
    ],
)
def test_a_sender_outside_the_ses_identity_is_refused(sender: str, identity: str) -> None:
    with pytest.raises(ValueError, match="REPORT_SENDER"):
        check_sender_identity(sender, identity)


def test_the_synth_fails_when_the_report_sender_is_not_the_ses_identity(
    lambda_zips: dict[str, Path], tmp_path: Path
) -> None:
    env = Environment.load("dev")
    reporter = dataclasses.replace(
        env.reporter, settings={**env.reporter.settings, "REPORT_SENDER": "reports@elsewhere.example"}
    )
    app = App(outdir=str(tmp_path))
    with pytest.raises(ValueError, match=r"'reports@elsewhere\.example' is not covered by ses_identity"):
        ReporterStack(app, dataclasses.replace(env, reporter=reporter), stack_dir=tmp_path / "reporter-dev")


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_the_reporter_schedule_passes_its_scheduled_time_and_the_sweep_none(
    synth: Synth, env_name: str
) -> None:
    env = Environment.load(env_name)
    schedules = synth.resources(f"reporter-{env_name}", "aws_scheduler_schedule").values()
    (report,) = [s for s in schedules if s["name"] == f"{env.name_prefix}-weekly-report"]
    assert json.loads(report["target"]["input"]) == {"time": "<aws.scheduler.scheduled-time>"}
    (sweep,) = synth.resources(f"processor-{env_name}", "aws_scheduler_schedule").values()
    assert "input" not in sweep["target"], "the sweep measures its cutoff from when it runs"


@pytest.mark.parametrize("stack", ["processor", "reporter"])
@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_only_this_accounts_scheduler_may_assume_the_schedule_role(
    synth: Synth, stack: str, env_name: str
) -> None:
    schedules = synth.resources(f"{stack}-{env_name}", "aws_scheduler_schedule").values()
    assert len(schedules) == {"processor": 1, "reporter": 2}[stack]  # the sweep; the report and the roll-up
    (account_id,) = synth.stack(f"{stack}-{env_name}")["data"]["aws_caller_identity"]
    for schedule in schedules:
        role_id = schedule["target"]["role_arn"].removeprefix("${aws_iam_role.").removesuffix(".arn}")
        role = synth.resources(f"{stack}-{env_name}", "aws_iam_role")[role_id]
        assert json.loads(role["assume_role_policy"])["Statement"] == [
            {
                "Effect": "Allow",
                "Principal": {"Service": "scheduler.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {
                        "aws:SourceAccount": f"${{data.aws_caller_identity.{account_id}.account_id}}"
                    }
                },
            }
        ]
