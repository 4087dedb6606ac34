"""The local environment as Terraform deploys it, on the AWS twin: plans, remote state, one stack per deploy,
rollback, the S3 lock, a replacement read from the plan JSON, IAM refusals, and a destroy that leaves nothing.

Every test runs on the one twin `conftest.applied` applied from nothing; the tests run in file order and the
destroy comes last.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from contract.resources import LIVE_ALIAS
from cv_analytics import packaging
from cv_analytics.local.deploy import FUNCTION_STACKS, apply_stack, synth_local
from cv_analytics.local.deployed import live_function
from cv_analytics.local.lambda_runtime import FunctionError, running_function
from cv_analytics.local.pipeline import deployed_event_source, publisher_key
from cv_analytics.local.twin import inventory, running_twin
from terraform import rollback
from terraform.run import outputs, run_environment, terraform, terraform_command
from tests.support.processor import SqsMessage, sqs_event
from tests.twin.conftest import AppliedTwin, local, plans_of, show_json

pytestmark = pytest.mark.integration
STACKS = ("state", "infra", *FUNCTION_STACKS)


def test_a_second_plan_of_every_stack_is_empty(applied: AppliedTwin) -> None:
    print(f"apply of all four stacks from nothing: {applied.apply_seconds:.1f} s, steps {applied.steps}")
    for kind, (code, text) in plans_of(applied, STACKS).items():
        assert code == 0, f"{kind}-local plans changes after its apply:\n{text[-3000:]}"


def test_the_function_stacks_read_the_infra_outputs_through_the_s3_remote_state(applied: AppliedTwin) -> None:
    infra = outputs(local(), "infra", outdir=applied.deployment.outdir, twin=applied.twin)
    for kind in FUNCTION_STACKS:
        state = show_json(applied, kind)
        [remote] = [
            r for r in state["values"]["root_module"]["resources"] if r["type"] == "terraform_remote_state"
        ]
        assert remote["values"]["backend"] == "s3"
        outputs_read = remote["values"]["outputs"]
        read = outputs_read.get("value", outputs_read)
        assert read["queue_arn"] == infra["queue_arn"] and read["analytics_table"] == infra["analytics_table"]
    processor = live_function(applied.twin.client("lambda"), "cv-analytics-local-processor")
    assert processor.environment["ANALYTICS_TABLE"] == applied.outputs.analytics_table
    assert processor.environment["QUERY_EVENTS_TABLE"] == applied.outputs.query_events_table
    assert processor.handler == "processor.handler.handle"


def test_a_twin_in_a_relative_folder_hands_terraform_absolute_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`./taskw demo` keeps its twin under `out/`; Terraform reads the CA from each stack's own folder."""
    monkeypatch.chdir(tmp_path)
    env = local()
    with running_twin(Path("out") / "twin", region=env.region, ses_identity="reports@example.com") as twin:
        assert twin.folder == tmp_path / "out" / "twin"
        assert twin.tls.ca_certificate.is_absolute() and twin.tls.ca_certificate.exists()
        assert Path(run_environment(env, twin)["SSL_CERT_FILE"]).is_absolute()


def test_the_state_bucket_refuses_requests_that_do_not_come_over_tls(applied: AppliedTwin) -> None:
    """The TLS-only policy holds on the twin: the same policy, evaluated for a plain-HTTP request."""
    from moto.iam.access_control import IAMPolicy, PermissionResult

    from cv_analytics.local import moto_gaps

    moto_gaps.iam_bool_condition()
    moto_gaps.iam_unmet_condition_does_not_apply()
    policy = applied.twin.client("s3").get_bucket_policy(Bucket="cv-analytics-local-terraform-state")[
        "Policy"
    ]
    resource = "arn:aws:s3:::cv-analytics-local-terraform-state/cv-analytics/local/infra.tfstate"
    plain = IAMPolicy(policy).is_action_permitted(
        "s3:GetObject", resource, None, {"aws:SecureTransport": "false"}
    )
    tls = IAMPolicy(policy).is_action_permitted(
        "s3:GetObject", resource, None, {"aws:SecureTransport": "true"}
    )
    assert (plain, tls) == (PermissionResult.DENIED, PermissionResult.NEUTRAL)


@pytest.fixture
def changed_processor_zip(applied: AppliedTwin) -> Iterator[Path]:
    """The deployment's processor.zip with one more module in it (a code change), put back afterwards."""
    built = packaging.build("processor", applied.deployment.zip_of("processor"))
    saved = built.read_bytes()
    with zipfile.ZipFile(built, "a") as archive:
        archive.writestr("processor/_changed.py", "CHANGED = True\n")
    try:
        yield built
    finally:
        built.write_bytes(saved)


def _plan_json(applied: AppliedTwin, kind: str) -> dict[str, Any]:
    folder = applied.root / f"{kind}.tfplan"
    terraform(
        local(),
        kind,
        ["plan", "-input=false", "-no-color", f"-out={folder}"],
        outdir=applied.deployment.outdir,
        twin=applied.twin,
        capture=True,
    )
    plan: dict[str, Any] = show_json(applied, kind, str(folder))
    return plan


def _changed(plan: dict[str, Any]) -> dict[str, list[str]]:
    return {
        change["address"]: change["change"]["actions"]
        for change in plan.get("resource_changes", [])
        if change["change"]["actions"] != ["no-op"] and change["change"]["actions"] != ["read"]
    }


def test_a_code_change_deploys_the_processor_alone_and_rollback_moves_what_the_event_source_runs(
    twin_env: AppliedTwin, changed_processor_zip: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    applied = twin_env
    synth_local(applied.twin, applied.deployment, build=False)
    changes = _changed(_plan_json(applied, "processor"))
    assert changes, "the code change planned nothing"
    types = {address.split(".")[0] for address in changes}
    assert types == {"aws_lambda_function", "aws_lambda_alias"}, changes
    apply_stack(applied.twin, applied.deployment, "processor")
    for kind, (code, _) in plans_of(applied, ("infra", "reporter")).items():
        assert code == 0, f"{kind}-local changed with the processor's deploy"
    lambda_client = applied.twin.client("lambda")
    assert live_function(lambda_client, "cv-analytics-local-processor").version == "2"

    key = publisher_key(applied.twin, applied.outputs.edge_publisher_user)
    sender = applied.twin.client("sqs", key)
    cache, logs = applied.root / "code", applied.root / "logs"
    with deployed_event_source(applied.twin, applied.outputs.queue_arn, cache=cache, log_dir=logs) as (
        poller,
        function,
    ):
        for index, _ in enumerate(("before", "after")):
            if index == 1:
                assert rollback.main(["processor", "--env", "local", "--version", "1"]) == 0
            sender.send_message(
                QueueUrl=applied.outputs.queue_url,
                MessageBody="not an event",
                MessageGroupId="rollback",
                MessageDeduplicationId=f"rollback-{index}",
            )
            deadline = time.monotonic() + 30
            while poller.poll_once() == 0 and time.monotonic() < deadline:
                pass
    assert function.versions_invoked == ["2", "1"]
    printed = capsys.readouterr().out
    assert "cv-analytics-local-processor:live -> version 1" in printed
    assert "cv-analytics-local-sweep:live -> version 1" in printed
    aliases = {name: lambda_client.get_alias(FunctionName=name, Name=LIVE_ALIAS)["FunctionVersion"]
               for name in ("cv-analytics-local-processor", "cv-analytics-local-sweep")}  # fmt: skip
    assert aliases == {"cv-analytics-local-processor": "1", "cv-analytics-local-sweep": "1"}
    # The tests after this one run the live version, 1: the working tree's code. The fixture puts the zip
    # back; no stack is applied again (each later test plans only infra, or destroys everything).


def test_a_concurrent_apply_is_refused_by_the_s3_lock(applied: AppliedTwin) -> None:
    from terraform.run import run_environment, stack_dir

    folder = stack_dir(local(), "infra", applied.deployment.outdir)
    environment = run_environment(local(), applied.twin)
    holder = subprocess.Popen(
        [terraform_command(), f"-chdir={folder}", "apply", "-no-color"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=environment,
        text=True,
    )
    try:
        assert holder.stdout is not None
        for line in holder.stdout:
            if "No changes" in line or "Enter a value" in line or "Refreshing state" in line:
                break
        time.sleep(1)
        second = terraform(
            local(),
            "infra",
            ["plan", "-input=false", "-no-color", "-lock-timeout=0s"],
            outdir=applied.deployment.outdir,
            twin=applied.twin,
            capture=True,
            check=False,
        )
    finally:
        holder.communicate("no\n", timeout=60)
    assert second.returncode == 1
    assert "Error acquiring the state lock" in second.stdout + second.stderr


def test_a_changed_table_key_is_planned_as_a_replacement(applied: AppliedTwin, tmp_path: Path) -> None:
    stack = applied.deployment.outdir / "stacks" / "infra-local"
    copy = tmp_path / "stacks" / "infra-local"
    shutil.copytree(stack, copy, symlinks=True)
    config = json.loads((copy / "cdk.tf.json").read_text())
    [table] = [
        t for t in config["resource"]["aws_dynamodb_table"].values() if t["name"].endswith("query-events")
    ]
    # The partition key renamed (every attribute must stay indexed): the provider must replace the table.
    [key] = [a for a in table["attribute"] if a["name"] == table["hash_key"]]
    key["name"] = table["hash_key"] = "tenant_request_id"
    (copy / "cdk.tf.json").write_text(json.dumps(config))
    result = terraform(
        local(),
        "infra",
        ["plan", "-input=false", "-no-color", "-lock=false", "-out=key.tfplan"],
        outdir=tmp_path,
        twin=applied.twin,
        capture=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    plan = json.loads(
        terraform(
            local(),
            "infra",
            ["show", "-json", "key.tfplan"],
            outdir=tmp_path,
            twin=applied.twin,
            capture=True,
        ).stdout
    )
    replaced = {
        c["address"]: c for c in plan["resource_changes"] if c["change"]["actions"] == ["delete", "create"]
    }
    assert list(replaced) == [a for a in replaced if a.startswith("aws_dynamodb_table.query-events")], (
        result.stdout
    )
    [change] = replaced.values()
    assert ["hash_key"] in change["change"]["replace_paths"] or ["hash_key"] in change.get(
        "action_reason", []
    )


def _policy(iam: Any, role: str, name: str) -> dict[str, Any]:
    document: dict[str, Any] = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    return document


def _without(document: dict[str, Any], action: str) -> dict[str, Any]:
    statements = []
    for statement in document["Statement"]:
        actions = [a for a in statement["Action"] if a != action]
        # A statement left with no action would be malformed: it keeps one that grants nothing we send.
        statements.append({**statement, "Action": actions or ["sqs:GetQueueUrl"]})
    return {**document, "Statement": statements}


# The query half exactly as the Worker sends it today (a request id of its own per run).
QUERY_EVENT = {
    "eventType": "query",
    "requestId": "iam-negative-request",
    "timestamp": 1764154800123,
    "sessionId": "iam-negative",
    "query": "Has she led a team?",
    "metadata": {"userAgent": "Mozilla/5.0", "referer": "https://example.dev/cv"},
}


def _sqs_event(applied: AppliedTwin, request_id: str) -> dict[str, Any]:
    body = json.dumps({**QUERY_EVENT, "requestId": request_id})
    message = SqsMessage(body, "iam-negative", message_id="iam-negative-1", deduplication_id="iam-negative-1")
    return sqs_event([message], queue_arn=applied.outputs.queue_arn, region=applied.twin.region)


def test_the_processor_without_updateitem_on_its_table_is_refused(applied: AppliedTwin) -> None:
    iam = applied.twin.client("iam")
    role, name = "cv-analytics-local-processor-role", "cv-analytics-local-processor-policy"
    original = _policy(iam, role, name)
    function = live_function(applied.twin.client("lambda"), "cv-analytics-local-processor")
    log = applied.root / "logs" / "iam-negative-processor.log"
    refused_id = "iam-negative-request-refused"
    try:
        with running_function(applied.twin, function, cache=applied.root / "code", log=log) as running:
            allowed = running.invoke(_sqs_event(applied, "iam-negative-request-allowed"))
        iam.put_role_policy(
            RoleName=role,
            PolicyName=name,
            PolicyDocument=json.dumps(_without(original, "dynamodb:UpdateItem")),
        )
        # A new request: a duplicate of one already stored would be settled without a write.
        with (
            running_function(applied.twin, function, cache=applied.root / "code", log=log) as running,
            pytest.raises(FunctionError) as refused,
        ):
            running.invoke(_sqs_event(applied, refused_id))
    finally:
        iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(original))
    assert allowed == {"batchItemFailures": []}
    # Every record of the batch failed, so the invocation fails and Lambda retries the batch.
    assert "All records failed processing" in str(refused.value)
    refusal = next(line for line in log.read_text().splitlines() if "AccessDenied" in line)
    denied = refusal[refusal.index("An error occurred") :].split("\\n")[0]
    print(f"processor without dynamodb:UpdateItem: {denied}")
    assert "(AccessDeniedException)" in denied
    assert "not authorized to perform: dynamodb:UpdateItem" in denied
    interim = applied.twin.client("dynamodb").get_item(
        TableName=applied.outputs.query_events_table, Key={"request_id": {"S": refused_id}}
    )
    assert "Item" not in interim


def test_the_edge_publisher_without_sendmessage_is_refused(applied: AppliedTwin) -> None:
    iam = applied.twin.client("iam")
    group, name = "cv-analytics-local-edge-publishers", "cv-analytics-local-edge-publisher-send"
    original: dict[str, Any] = iam.get_group_policy(GroupName=group, PolicyName=name)["PolicyDocument"]
    key = publisher_key(applied.twin, applied.outputs.edge_publisher_user)
    sqs = applied.twin.client("sqs", key)

    def send(index: int) -> None:
        sqs.send_message(
            QueueUrl=applied.outputs.queue_url,
            MessageBody=json.dumps(QUERY_EVENT),
            MessageGroupId="iam-negative",
            MessageDeduplicationId=f"iam-publisher-{index}",
        )

    send(1)
    try:
        iam.put_group_policy(
            GroupName=group, PolicyName=name, PolicyDocument=json.dumps(_without(original, "sqs:SendMessage"))
        )
        with pytest.raises(ClientError) as refused:
            send(2)
    finally:
        iam.put_group_policy(GroupName=group, PolicyName=name, PolicyDocument=json.dumps(original))
    print(f"edge publisher without sqs:SendMessage: {refused.value}")
    assert refused.value.response["Error"]["Code"] in {"AccessDenied", "AccessDeniedException"}
    with pytest.raises(ClientError):  # and the publisher's key reads nothing it was not given
        sqs.receive_message(QueueUrl=applied.outputs.queue_url)
    admin = applied.twin.client("sqs")
    admin.purge_queue(QueueUrl=applied.outputs.queue_url)


def test_destroy_leaves_no_resource_the_stacks_create(twin_env: AppliedTwin) -> None:
    """Last: the destroy task's order (the function stacks, then infra); only the state bucket stays."""
    from terraform.run import main

    def destroy(kind: str) -> int:
        outdir = str(twin_env.deployment.outdir)
        return main(["destroy", "--env", "local", "--stack", kind, "--outdir", outdir, "--", "-auto-approve"])

    # The two function stacks depend on infra alone: they go together, as the deploy applies them.
    with ThreadPoolExecutor(max_workers=2) as pool:
        assert list(pool.map(destroy, ("reporter", "processor"))) == [0, 0]
    assert destroy("infra") == 0
    left = inventory(twin_env.twin)
    assert left.pop("state buckets") == ["cv-analytics-local-terraform-state"]
    assert left == {kind: [] for kind in left}
