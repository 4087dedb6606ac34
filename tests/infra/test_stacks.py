"""The synthesized stacks do what the design promises: checked on the Terraform JSON itself."""

from __future__ import annotations

import json
from typing import Any

import pytest
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
from processor.settings import ProcessorSettings
from reporter.settings import ReporterSettings
from terraform.environment import STACK_KINDS, Environment
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
    redrive = json.loads(main_queue["redrive_policy"])
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
    (schedule,) = synth.resources("reporter-prod", "aws_scheduler_schedule").values()
    (alias_id,) = synth.resources("reporter-prod", "aws_lambda_alias")
    assert schedule["target"]["arn"] == f"${{aws_lambda_alias.{alias_id}.arn}}"
