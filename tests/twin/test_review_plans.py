"""The plan review on real plans: deliberate changes to scratch copies of the synthesized stacks, planned by
Terraform against what the shared twin has applied, then reviewed as `./taskw review` reviews them.

Five plans, two at a time, all computed once for the module: the analytics table's range key, the event
queue's name and an alarm threshold changed together (two replacements with data loss, in-place updates;
exit 3), a new action on the processor's role (wider IAM; exit 3), the alarm threshold alone (exit 2), the
processor's memory with its sweep schedule's construct renamed (an in-place update and a probable move; exit
2) and the reporter as it is (exit 0). The suggested `moved` block is then added and planned again.
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

from terraform.plan_report import markdown, pounds
from terraform.plan_review import (
    CREATE,
    DESTROY,
    MOVE,
    REPLACE,
    UPDATE,
    AttributeChange,
    StackReview,
    SuggestedMove,
    exit_code,
    review_plan,
)
from terraform.review_plans import PARALLEL_PLANS, plan_json, review_stacks
from tests.twin.conftest import AppliedTwin, local

pytestmark = pytest.mark.integration

THRESHOLD_BEFORE, THRESHOLD_AFTER = 900, 1800
NEW_ACTION = "dynamodb:Scan"
QUEUE_AFTER = "cv-analytics-local-chat-events.fifo"
MEMORY_BEFORE, MEMORY_AFTER = 256, 512
SCHEDULE_BEFORE = "aws_scheduler_schedule.sweep-schedule_F23DB6AD"
SCHEDULE_AFTER = "aws_scheduler_schedule.orphan-sweep-schedule_5C1E2A07"


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


def _event_queue_renamed(config: dict[str, Any]) -> None:
    [queue] = [q for q in config["resource"]["aws_sqs_queue"].values() if q["name"].endswith("-events.fifo")]
    queue["name"] = QUEUE_AFTER


def _processor_memory(config: dict[str, Any]) -> None:
    [function] = [f for f in config["resource"]["aws_lambda_function"].values()
                  if f["function_name"].endswith("-processor")]  # fmt: skip
    assert function["memory_size"] == MEMORY_BEFORE
    function["memory_size"] = MEMORY_AFTER


def _sweep_schedule_renamed(config: dict[str, Any]) -> None:
    """What renaming the schedule's construct does to the synthesized stack: the same resource under a new
    logical id (nothing refers to a schedule, so no reference moves with it)."""
    schedules = config["resource"]["aws_scheduler_schedule"]
    old, new = SCHEDULE_BEFORE.split(".")[1], SCHEDULE_AFTER.split(".")[1]
    schedules[new] = json.loads(json.dumps(schedules.pop(old)).replace(old, new))  # its metadata's id too
    assert old not in json.dumps(config)


def _moved_block(move: SuggestedMove) -> Edit:
    """The suggested move, as the stack's `move_from_id` synthesizes it."""
    return lambda config: config.setdefault("moved", []).append({"from": move.source, "to": move.target})


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
        "key-queue-alarm": ("infra", _changed_copy(applied, "key-queue-alarm", "infra", _new_range_key,
                                                   _event_queue_renamed, _oldest_message_threshold)),
        "iam": ("processor", _changed_copy(applied, "iam", "processor", _processor_may_scan)),
        "alarm": ("infra", _changed_copy(applied, "alarm", "infra", _oldest_message_threshold)),
        "memory-and-rename": ("processor", _changed_copy(applied, "memory-and-rename", "processor",
                                                         _processor_memory, _sweep_schedule_renamed)),
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


def test_a_new_range_key_and_a_new_queue_name_are_replacements_with_data_loss_beside_in_place_changes(
    reviews: dict[str, StackReview],
) -> None:
    review = reviews["key-queue-alarm"]
    table, queue = sorted(review.data_loss, key=lambda c: c.type)
    assert (table.type, queue.type) == ("aws_dynamodb_table", "aws_sqs_queue")
    assert table.action == queue.action == REPLACE
    assert table.address.startswith("aws_dynamodb_table.analytics_table")
    assert "range_key" in table.replace_paths
    assert AttributeChange("range_key", '"sk"', '"record_sk"') in table.attributes
    assert queue.address.startswith("aws_sqs_queue.events_queue") and queue.replace_paths == ["name"]
    assert AttributeChange("name", '"cv-analytics-local-events.fifo"', f'"{QUEUE_AFTER}"') in queue.attributes
    assert sorted(c.type for c in review.of(REPLACE)) == [
        "aws_dynamodb_table", "aws_sqs_queue", "aws_sqs_queue_redrive_policy"
    ], "the table, the queue, and the queue's redrive policy (its queue_url forces a new one)"  # fmt: skip
    alarms = {c.address: c for c in review.of(UPDATE) if c.type == "aws_cloudwatch_metric_alarm"}
    [threshold] = [c for c in alarms.values() if any(a.path == "threshold" for a in c.attributes)]
    assert AttributeChange("threshold", str(THRESHOLD_BEFORE), str(THRESHOLD_AFTER)) in threshold.attributes
    assert any(a.path.startswith("dimensions") for c in alarms.values() for a in c.attributes), (
        "the queue's alarms follow its new name in place"
    )
    assert review.moves == [], "a replacement in place of a rename is not a move"
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
    assert not review.changed and review.costs == []
    assert exit_code([review]) == 0
    assert "No changes in 1 stacks." in markdown([review])


def test_more_memory_for_the_processor_is_an_in_place_update(reviews: dict[str, StackReview]) -> None:
    review = reviews["memory-and-rename"]
    function = _one(review, UPDATE, "aws_lambda_function")
    assert function.address.startswith("aws_lambda_function.processor_function")
    assert AttributeChange("memory_size", str(MEMORY_BEFORE), str(MEMORY_AFTER)) in function.attributes
    assert function.replace_paths == [] and review.data_loss == [] and review.widened == []
    [cost] = review.costs
    assert cost.address == function.address and cost.what == f"memory_size {MEMORY_BEFORE} -> {MEMORY_AFTER}"
    assert cost.monthly_gbp is not None and cost.monthly_gbp > 0, "twice the memory, twice the GB-seconds"
    assert f"({cost.what}): {pounds(cost.monthly_gbp)} a month" in markdown([review])
    assert exit_code([review]) == 2


def test_a_renamed_construct_is_named_a_probable_move_and_its_moved_block_keeps_the_resource(
    applied: AppliedTwin, reviews: dict[str, StackReview]
) -> None:
    review = reviews["memory-and-rename"]
    assert [(c.action, c.address) for c in review.resources if c.type == "aws_scheduler_schedule"] == [
        (CREATE, SCHEDULE_AFTER), (DESTROY, SCHEDULE_BEFORE)
    ]  # fmt: skip
    [move] = review.moves
    assert (move.source, move.target) == (SCHEDULE_BEFORE, SCHEDULE_AFTER)
    assert move.equal == move.compared >= 5
    text = markdown([review])
    assert "## Probable moves" in text and f"  from = {SCHEDULE_BEFORE}" in text
    assert f'`move_from_id("{SCHEDULE_BEFORE}")`' in text
    print(text)

    outdir = _changed_copy(applied, "moved", "processor", _processor_memory, _sweep_schedule_renamed,
                           _moved_block(move))  # fmt: skip
    try:
        moved = review_plan(
            local().stack_name("processor"), plan_json(local(), "processor", outdir, applied.twin)
        )
    finally:
        shutil.rmtree(outdir, ignore_errors=True)
    assert [
        (c.action, c.address, c.moved_from) for c in moved.resources if c.type == "aws_scheduler_schedule"
    ] == [(MOVE, SCHEDULE_AFTER, SCHEDULE_BEFORE)], (
        "with the block, the schedule keeps its state under the new address"
    )
    assert moved.moves == [] and exit_code([moved]) == 2
