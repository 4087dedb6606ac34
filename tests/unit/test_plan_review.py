"""The plan review on excerpts of real plans (`terraform show -json` of plans made against the local twin,
kept to the changed resources: tests/fixtures/plans/), and on variations of them where a real plan of these
stacks has no example (a sensitive value, a digest, a destroy)."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from terraform.plan_report import markdown
from terraform.plan_review import (
    DESTROY,
    MOVE,
    REPLACE,
    UPDATE,
    AttributeChange,
    attribute_changes,
    exit_code,
    review_plan,
)

PLANS = Path(__file__).resolve().parent.parent / "fixtures" / "plans"
TABLE = "aws_dynamodb_table.analytics_table_B064874D"
ALARM = "aws_cloudwatch_metric_alarm.alerts_cv-analytics-local-oldest-message-age_08DD7612"
POLICY = "aws_iam_role_policy.processor_policy_A0F5D430"
SCAN = "Allow dynamodb:Scan on arn:aws:dynamodb:eu-west-2:123456789012:table/cv-analytics-local-analytics"


def _plan(name: str) -> dict[str, Any]:
    plan: dict[str, Any] = json.loads((PLANS / f"{name}.json").read_text(encoding="utf-8"))
    return plan


def _entry(plan: dict[str, Any], address: str) -> Any:
    [entry] = [c for c in plan["resource_changes"] if c["address"] == address]
    return entry


def test_a_replaced_table_is_data_loss_with_the_providers_reason_and_only_configured_changes_listed() -> None:
    review = review_plan("infra-local", _plan("infra-key-and-alarm"))
    [table] = review.data_loss
    assert (table.address, table.action, table.replace_paths) == (TABLE, REPLACE, ["range_key"])
    assert table.attributes == [
        AttributeChange("attribute[1].name", '"sk"', '"record_sk"'),
        AttributeChange("range_key", '"sk"', '"record_sk"'),
    ]
    assert {"arn", "id", "stream_arn"} <= set(table.recomputed)
    [alarm] = review.of(UPDATE)
    assert alarm.attributes == [AttributeChange("threshold", "900", "1800")] and not alarm.loses_data
    assert [r.address for r in review.resources] == [ALARM, TABLE], "the no-op queue is not listed"
    [output] = review.outputs
    assert output.path == "analytics_table_arn" and output.after == "(known after apply)"
    assert exit_code([review]) == 3


def test_a_new_action_is_wider_iam_and_the_same_change_reversed_only_drops_it() -> None:
    plan = _plan("processor-new-action")
    review = review_plan("processor-local", plan)
    [policy] = review.widened
    assert (policy.address, policy.iam_gained, policy.iam_dropped) == (POLICY, [SCAN], [])
    assert policy.attributes == [], "the policy reads as grants, not as a JSON string"
    assert exit_code([review]) == 3

    reverse = copy.deepcopy(plan)
    change = _entry(reverse, POLICY)["change"]
    change["before"], change["after"] = change["after"], change["before"]
    narrowed = review_plan("processor-local", reverse)
    assert narrowed.widened == [] and narrowed.resources[0].iam_dropped == [SCAN]
    assert exit_code([narrowed]) == 2


def test_sensitive_values_and_digests_are_shown_as_such() -> None:
    plan = _plan("infra-key-and-alarm")
    change = _entry(plan, ALARM)["change"]
    change["before_sensitive"]["threshold"] = change["after_sensitive"]["threshold"] = True
    old, new = (hashlib.sha256(text).hexdigest() for text in (b"old", b"new"))
    change["before"]["source_code_hash"], change["after"]["source_code_hash"] = old, new
    attributes, _ = attribute_changes(change)
    assert attributes == [
        AttributeChange("source_code_hash", f"(hash {old[:12]}…)", f"(hash {new[:12]}…)"),
        AttributeChange("threshold", "(sensitive)", "(sensitive)"),
    ]
    assert (
        "1800"
        not in markdown([review_plan("infra-local", plan)]).split("## infra-local")[1].split("output")[0]
    )


def test_a_destroyed_table_is_data_loss_and_a_destroyed_alarm_is_not() -> None:
    plan = _plan("infra-key-and-alarm")
    for address in (TABLE, ALARM):
        change = _entry(plan, address)["change"]
        change["actions"], change["after"], change["replace_paths"] = ["delete"], None, None
    review = review_plan("infra-local", plan)
    assert [(r.address, r.action) for r in review.of(DESTROY)] == [(ALARM, DESTROY), (TABLE, DESTROY)]
    assert [r.address for r in review.data_loss] == [TABLE]
    assert f"`{TABLE}` is destroyed; its data is lost" in markdown([review])


def test_a_plan_with_nothing_to_do_exits_0_and_says_so() -> None:
    plan = _plan("infra-key-and-alarm")
    plan["resource_changes"] = [c for c in plan["resource_changes"] if c["change"]["actions"] == ["no-op"]]
    plan["output_changes"] = {}
    review = review_plan("infra-local", plan)
    assert not review.changed and exit_code([review]) == 0
    assert "No changes in 1 stacks." in markdown([review])


def test_what_is_not_a_plans_json_is_refused_in_one_line() -> None:
    with pytest.raises(ValueError, match=r"^infra-local: not the JSON of `terraform show -json PLANFILE`"):
        review_plan("infra-local", {"values": {}})


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.sampled_from(["a", "b", ""]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("xyz"), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=60)
@given(st.dictionaries(st.sampled_from(["name", "tags", "rules"]), JSON), st.data())
def test_an_attribute_is_listed_exactly_when_its_value_differs(before: dict[str, Any], data: Any) -> None:
    after = data.draw(
        st.just(copy.deepcopy(before)) | st.dictionaries(st.sampled_from(["name", "tags"]), JSON)
    )
    attributes, _ = attribute_changes({"before": before, "after": after})
    assert (attributes == []) == (before == after)
    assert {a.path.split(".")[0].split("[")[0] for a in attributes} <= set(before) | set(after)


def test_a_moved_resource_is_a_change_that_names_its_old_address() -> None:
    plan = _plan("infra-key-and-alarm")
    [queue] = [c for c in plan["resource_changes"] if c["change"]["actions"] == ["no-op"]]
    plan["resource_changes"] = [queue]
    plan["output_changes"] = {}
    queue["previous_address"] = "aws_sqs_queue.events"  # as Terraform writes it for a `moved` block
    review = review_plan("infra-local", plan)
    [moved] = review.of(MOVE)
    assert (moved.address, moved.moved_from, moved.attributes) == (
        queue["address"],
        "aws_sqs_queue.events",
        [],
    )
    assert exit_code([review]) == 2
    assert "  - moved from `aws_sqs_queue.events`" in markdown([review])


def _renamed(plan: dict[str, Any], address: str, new_address: str) -> dict[str, Any]:
    """`address` destroyed and `new_address` created with its configuration, as a renamed construct plans."""
    entry = _entry(plan, address)
    before = entry["change"]["before"]
    configured = {key: value for key, value in before.items() if key not in ("arn", "id", "tags_all")}
    destroy = {**entry, "change": {"actions": ["delete"], "before": before, "after": None}}
    create = {**entry, "address": new_address, "name": new_address.split(".")[1],
              "change": {"actions": ["create"], "before": None, "after": configured,
                         "after_unknown": {"arn": True, "id": True, "tags_all": True}}}  # fmt: skip
    return {**plan, "resource_changes": [destroy, create]}


def test_a_destroy_and_a_create_of_the_same_configuration_are_a_probable_move_with_its_block() -> None:
    renamed = ALARM.replace("_08DD7612", "_renamed_0000")
    review = review_plan("infra-local", _renamed(_plan("infra-key-and-alarm"), ALARM, renamed))
    [move] = review.moves
    assert (move.source, move.target) == (ALARM, renamed) and move.equal == move.compared
    assert move.terraform_block == f"moved {{\n  from = {ALARM}\n  to   = {renamed}\n}}"
    text = markdown([review])
    assert "## Probable moves" in text and f'`move_from_id("{ALARM}")`' in text


def test_a_destroyed_table_beside_a_similar_new_one_is_still_data_loss_but_names_the_move() -> None:
    renamed = TABLE.replace("_B064874D", "_renamed_0000")
    review = review_plan("infra-local", _renamed(_plan("infra-key-and-alarm"), TABLE, renamed))
    assert [c.address for c in review.data_loss] == [TABLE], "as planned, the table is destroyed"
    assert f"its data is lost unless the move to {renamed} is declared" in markdown([review])
    assert exit_code([review]) == 3


def test_two_different_resources_of_one_type_are_not_a_move() -> None:
    plan = _renamed(_plan("infra-key-and-alarm"), ALARM, ALARM.replace("_08DD7612", "_other_0000"))
    after = plan["resource_changes"][1]["change"]["after"]
    after |= {"alarm_name": "another", "threshold": 5, "metric_name": "Other", "period": 60}
    assert review_plan("infra-local", plan).moves == []


def test_a_policy_known_only_after_apply_is_said_to_be_so() -> None:
    entry = {
        "address": "aws_iam_group_policy.send", "type": "aws_iam_group_policy", "mode": "managed",
        "change": {"actions": ["update"], "before": {"name": "send", "policy": '{"Statement": []}'},
                   "after": {"name": "send"}, "after_unknown": {"policy": True}},
    }  # fmt: skip
    [change] = review_plan("infra-local", {"format_version": "1.2", "resource_changes": [entry]}).resources
    assert change.attributes == [AttributeChange("policy", "(the applied document)", "(known after apply)")]
