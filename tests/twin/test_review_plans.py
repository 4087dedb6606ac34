"""The plan review on real plans: deliberate changes to scratch copies of the synthesized stacks, planned by
Terraform against what the shared twin has applied, then reviewed as `./taskw review` reviews them.

Four plans, two at a time, all computed once for the module: the analytics table's range key and an alarm
threshold changed together (replacement, data loss, an in-place update; exit 3), a new action on the
processor's role (wider IAM; exit 3), the alarm threshold alone (exit 2) and the reporter as it is (exit 0).
The copies sit beside the deployment's synth, so the function stacks' relative zip paths still resolve, and
they plan with `-lock=false` and never apply: the twin is left as it was.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from terraform.plan_report import markdown
from terraform.plan_review import REPLACE, UPDATE, AttributeChange, StackReview, exit_code, review_plan
from terraform.review_plans import PARALLEL_PLANS, plan_json, review_stacks
from tests.twin.conftest import AppliedTwin, local

pytestmark = pytest.mark.integration

THRESHOLD_BEFORE, THRESHOLD_AFTER = 900, 1800
NEW_ACTION = "dynamodb:Scan"


def _table(config: dict[str, Any], suffix: str) -> Any:
    [table] = [t for t in config["resource"]["aws_dynamodb_table"].values() if t["name"].endswith(suffix)]
    return table


def _new_range_key(config: dict[str, Any]) -> None:
    """The analytics table's sort key renamed (its attribute with it): the provider must replace it."""
    table = _table(config, "-analytics")
    [key] = [a for a in table["attribute"] if a["name"] == table["range_key"]]
    key["name"] = table["range_key"] = "record_sk"


def _oldest_message_threshold(config: dict[str, Any]) -> None:
    [alarm] = [a for a in config["resource"]["aws_cloudwatch_metric_alarm"].values()
               if a["alarm_name"].endswith("oldest-message-age")]  # fmt: skip
    assert alarm["threshold"] == THRESHOLD_BEFORE
    alarm["threshold"] = THRESHOLD_AFTER


def _processor_may_scan(config: dict[str, Any]) -> None:
    [policy] = [p for p in config["resource"]["aws_iam_role_policy"].values()
                if p["name"].endswith("processor-policy")]  # fmt: skip
    document = json.loads(policy["policy"])
    [analytics] = [s for s in document["Statement"] if s.get("Sid") == "Analytics"]
    analytics["Action"].append(NEW_ACTION)
    policy["policy"] = json.dumps(document)


Edit = Callable[[dict[str, Any]], None]


def _changed_copy(applied: AppliedTwin, name: str, kind: str, *edits: Edit) -> Path:
    """A copy of one synthesized stack (its initialised .terraform too) with `edits` made; its outdir."""
    outdir = applied.deployment.outdir.parent / f"review-{name}"
    shutil.rmtree(outdir, ignore_errors=True)
    stack = local().stack_name(kind)
    copy = outdir / "stacks" / stack
    shutil.copytree(applied.deployment.outdir / "stacks" / stack, copy, symlinks=True)
    config = json.loads((copy / "cdk.tf.json").read_text(encoding="utf-8"))
    for edit in edits:
        edit(config)
    (copy / "cdk.tf.json").write_text(json.dumps(config), encoding="utf-8")
    return outdir


@pytest.fixture(scope="module")
def reviews(applied: AppliedTwin) -> Iterator[dict[str, StackReview]]:
    copies = {
        "key-and-alarm": ("infra", _changed_copy(applied, "key-and-alarm", "infra", _new_range_key,
                                                 _oldest_message_threshold)),
        "iam": ("processor", _changed_copy(applied, "iam", "processor", _processor_may_scan)),
        "alarm": ("infra", _changed_copy(applied, "alarm", "infra", _oldest_message_threshold)),
    }  # fmt: skip

    def review(name: str) -> StackReview:
        if name == "unchanged":  # the applied synth itself, through the same path as `./taskw review`
            [unchanged] = review_stacks(
                local(), ["reporter"], applied.deployment.outdir, applied.twin, init=False
            )
            return unchanged
        kind, outdir = copies[name]
        plan = plan_json(local(), kind, outdir, applied.twin)
        return review_plan(local().stack_name(kind), plan)

    try:
        with ThreadPoolExecutor(max_workers=PARALLEL_PLANS) as pool:
            names = [*copies, "unchanged"]
            yield dict(zip(names, pool.map(review, names), strict=True))
    finally:
        for _, outdir in copies.values():
            shutil.rmtree(outdir, ignore_errors=True)


def _one(review: StackReview, action: str, type_: str) -> Any:
    [change] = [c for c in review.of(action) if c.type == type_]
    return change


def test_a_changed_range_key_is_a_replacement_with_data_loss_beside_an_in_place_alarm_change(
    reviews: dict[str, StackReview],
) -> None:
    review = reviews["key-and-alarm"]
    [lost] = review.data_loss
    assert lost.type == "aws_dynamodb_table" and lost.action == REPLACE
    assert lost.address.startswith("aws_dynamodb_table.analytics_table")
    assert "range_key" in lost.replace_paths
    assert AttributeChange("range_key", '"sk"', '"record_sk"') in lost.attributes
    assert [c.type for c in review.of(REPLACE)] == ["aws_dynamodb_table"], "only the table is replaced"
    alarm = _one(review, UPDATE, "aws_cloudwatch_metric_alarm")
    assert AttributeChange("threshold", str(THRESHOLD_BEFORE), str(THRESHOLD_AFTER)) in alarm.attributes
    assert exit_code([review]) == 3
    text = markdown([review])
    assert text.index("## Data loss") < text.index("## infra-local"), "data loss is read first"
    assert f"`threshold: {THRESHOLD_BEFORE} -> {THRESHOLD_AFTER}`" in text
    print(text)


def test_a_new_action_on_the_processors_role_is_reported_as_wider_iam(
    reviews: dict[str, StackReview],
) -> None:
    review = reviews["iam"]
    [policy] = review.widened
    assert policy.type == "aws_iam_role_policy" and policy.action == UPDATE
    [gained] = policy.iam_gained
    assert gained.startswith(f"Allow {NEW_ACTION} on arn:aws:dynamodb:"), "the ARN as the plan resolved it"
    assert gained.endswith(":table/cv-analytics-local-analytics")
    assert policy.iam_dropped == []
    assert review.data_loss == [] and [c.type for c in review.resources] == ["aws_iam_role_policy"]
    assert exit_code([review]) == 3


def test_an_alarm_threshold_alone_is_an_in_place_change(reviews: dict[str, StackReview]) -> None:
    review = reviews["alarm"]
    [alarm] = review.resources
    assert alarm.action == UPDATE and alarm.replace_paths == []
    assert alarm.attributes == [AttributeChange("threshold", str(THRESHOLD_BEFORE), str(THRESHOLD_AFTER))]
    assert exit_code([review]) == 2


def test_the_applied_synth_plans_no_change(reviews: dict[str, StackReview]) -> None:
    review = reviews["unchanged"]
    assert review.stack == "reporter-local"
    assert not review.changed
    assert exit_code([review]) == 0
    assert "No changes in 1 stacks." in markdown([review])
