"""The committed snapshots of the synthesized stacks, and the structural diff a reviewer reads.

`python -m terraform.review snapshot` rewrites terraform/snapshots/<stack>.json from terraform/cdktf.out;
`python -m terraform.review diff` compares them and prints resources added, removed and changed, the
attributes that changed, removed tables, queues and buckets (their data is lost), and IAM that grants more
than before (policy statements, including `NotAction` / `NotResource` ones and dropped conditions, and
attached managed policies); it exits 2 when anything differs. Plain Python: no CDK, no Terraform, no AWS.

Which change makes Terraform replace a resource is the provider's knowledge, not this diff's: the plan says it
(`replace_paths`), and `terraform.plan_review` reads it from there. The grant logic here is shared with that
review, which feeds it the plan's before and after.

Snapshots are normalised so that only infrastructure decisions show: construct metadata is dropped and a
Lambda's `source_code_hash` (which changes with every code edit and is deployed by the function's own
task) is replaced by a placeholder.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from terraform.environment import OUTDIR, TERRAFORM_DIR

SNAPSHOT_DIR = TERRAFORM_DIR / "snapshots"
DIFFERENT = 2

# Resources whose removal (or replacement) destroys data that no apply brings back.
STATEFUL = frozenset({"aws_dynamodb_table", "aws_sqs_queue", "aws_s3_bucket"})
POLICY_ATTRIBUTES = ("policy", "assume_role_policy")
# Attributes that attach a managed policy: whatever that policy allows, the principal gains.
ATTACHMENT_ATTRIBUTES = ("policy_arn", "managed_policy_arns")


def _without_metadata(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_metadata(v) for k, v in sorted(value.items()) if k != "//"}
    if isinstance(value, list):
        return [_without_metadata(v) for v in value]
    return value


def normalise(stack: dict[str, Any]) -> dict[str, Any]:
    """What a reviewer should see of a synthesized stack."""
    result: dict[str, Any] = _without_metadata(stack)
    for function in result.get("resource", {}).get("aws_lambda_function", {}).values():
        if "source_code_hash" in function:
            function["source_code_hash"] = f"<sha256 of {Path(function['filename']).name}>"
    return result


def synthesized(outdir: Path = OUTDIR) -> dict[str, dict[str, Any]]:
    """Normalised stacks from a synth output folder, by stack name."""
    stacks = {}
    for path in sorted((outdir / "stacks").glob("*/cdk.tf.json")):
        stacks[path.parent.name] = normalise(json.loads(path.read_text(encoding="utf-8")))
    return stacks


def committed(snapshot_dir: Path = SNAPSHOT_DIR) -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(snapshot_dir.glob("*.json"))}


def render(stack: dict[str, Any]) -> str:
    return json.dumps(stack, indent=2, sort_keys=True) + "\n"


def write_snapshots(stacks: dict[str, dict[str, Any]], snapshot_dir: Path = SNAPSHOT_DIR) -> None:
    snapshot_dir.mkdir(parents=True, exist_ok=True)
    for stale in snapshot_dir.glob("*.json"):
        if stale.stem not in stacks:
            stale.unlink()
    for name, stack in stacks.items():
        (snapshot_dir / f"{name}.json").write_text(render(stack), encoding="utf-8")


# --- structural diff -------------------------------------------------------------------------------------


def _flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from _flatten(item, f"{prefix}.{key}" if prefix else key)
    elif isinstance(value, list) and value and any(isinstance(v, dict | list) for v in value):
        for index, item in enumerate(value):
            yield from _flatten(item, f"{prefix}[{index}]")
    else:
        yield prefix, value


def _addresses(stack: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every resource, data source, output and block of settings, by a Terraform-like address."""
    found: dict[str, dict[str, Any]] = {}
    for kind, prefix in (("resource", ""), ("data", "data.")):
        for type_, items in stack.get(kind, {}).items():
            for name, body in items.items():
                found[f"{prefix}{type_}.{name}"] = body
    for name, body in stack.get("output", {}).items():
        found[f"output.{name}"] = body
    for block in ("provider", "terraform"):
        if block in stack:
            found[block] = {"value": stack[block]}
    return found


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _grants(body: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(action, resource, condition) that Allow statements of the resource's policies grant.

    A `NotAction` or `NotResource` statement allows everything but its list, so it is kept whole as one
    grant ("every action except ..."): any such statement that appears or changes is reported as wider.
    The condition is JSON, or "" for none.
    """
    grants: set[tuple[str, str, str]] = set()
    for attribute in POLICY_ATTRIBUTES:
        text = body.get(attribute)
        if not isinstance(text, str):
            continue
        try:
            document = json.loads(text)
        except json.JSONDecodeError:
            continue
        for statement in _listed(document.get("Statement", [])):
            if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
                continue
            if "NotAction" in statement:
                actions = [f"every action except {json.dumps(_listed(statement['NotAction']))}"]
            else:
                actions = [str(action) for action in _listed(statement.get("Action", []))]
            if "NotResource" in statement:
                resources = [f"every resource except {json.dumps(_listed(statement['NotResource']))}"]
            else:
                resources = [
                    r if isinstance(r, str) else json.dumps(r, sort_keys=True)
                    for r in _listed(statement.get("Resource", statement.get("Principal", "*")))
                ]
            when = json.dumps(statement["Condition"], sort_keys=True) if "Condition" in statement else ""
            grants.update((action, resource, when) for action in actions for resource in resources)
    return grants


def _attachments(address: str, body: dict[str, Any]) -> set[str]:
    """Managed policies the resource attaches, with what an attachment resource attaches them to."""
    attached = {
        str(arn)
        for attribute in ATTACHMENT_ATTRIBUTES
        if attribute in body
        for arn in _listed(body[attribute])
    }
    if "policy_attachment" in address.split(".", maxsplit=1)[0]:
        targets = {k: body[k] for k in ("role", "roles", "user", "users", "group", "groups") if k in body}
        attached = {f"{arn} to {json.dumps(targets, sort_keys=True)}" for arn in attached}
    return attached


def gained_grants(after: dict[str, Any], before: dict[str, Any]) -> list[str]:
    """Grants not held before: new, or under a condition that was not there (a dropped or changed one).

    An old unconditional grant covers the same action and resource under any condition, so adding a
    condition is not wider.
    """
    held = _grants(before)
    unconditional = {(action, resource) for action, resource, when in held if not when}
    return [
        f"Allow {action} on {resource}" + (f" when {when}" if when else "")
        for action, resource, when in sorted(_grants(after) - held)
        if (action, resource) not in unconditional
    ]


def widening(address: str, body: dict[str, Any], before: dict[str, Any]) -> list[str]:
    gained = gained_grants(body, before)
    attached = _attachments(address, body) - _attachments(address, before)
    return gained + [f"Attach {attachment}" for attachment in sorted(attached)]


@dataclass
class StackDiff:
    stack: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)
    widened: dict[str, list[str]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def diff_stack(name: str, before: dict[str, Any] | None, after: dict[str, Any] | None) -> StackDiff:
    result = StackDiff(name)
    old = _addresses(before or {})
    new = _addresses(after or {})
    result.added = sorted(set(new) - set(old))
    result.removed = sorted(set(old) - set(new))
    for address in sorted(set(old) & set(new)):
        old_flat, new_flat = dict(_flatten(old[address])), dict(_flatten(new[address]))
        changes = []
        for path in sorted(set(old_flat) | set(new_flat)):
            if old_flat.get(path) != new_flat.get(path):
                changes.append(
                    f"{path}: {json.dumps(old_flat.get(path))} -> {json.dumps(new_flat.get(path))}"
                )
        if changes:
            result.changed[address] = changes
    for address, body in new.items():
        gained = widening(address, body, old.get(address, {}))
        if gained:
            result.widened[address] = gained
    return result


def diff_all(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> list[StackDiff]:
    return [diff_stack(name, before.get(name), after.get(name)) for name in sorted(set(before) | set(after))]


def report(diffs: Sequence[StackDiff]) -> str:
    lines: list[str] = []
    for diff in diffs:
        if diff.empty:
            continue
        lines.append(f"== {diff.stack}")
        lines.extend(f"  + added    {address}" for address in diff.added)
        lines.extend(f"  - removed  {address}" for address in diff.removed)
        lines.extend(
            f"  ! DATA LOSS {address} (removed: its data is destroyed)"
            for address in diff.removed
            if address.split(".")[0] in STATEFUL
        )
        for address, changes in diff.changed.items():
            lines.append(f"  ~ changed  {address}")
            lines.extend(f"      {change}" for change in changes)
        for address, grants in diff.widened.items():
            lines.append(f"  ! IAM WIDENED {address}")
            lines.extend(f"      + {grant}" for grant in grants)
    changed = [d for d in diffs if not d.empty]
    summary = (
        f"{len(changed)} of {len(diffs)} stacks differ: "
        f"{sum(len(d.added) for d in diffs)} added, {sum(len(d.removed) for d in diffs)} removed, "
        f"{sum(len(d.changed) for d in diffs)} changed, "
        f"{sum(len(d.widened) for d in diffs)} with wider IAM"
    )
    return "\n".join([*lines, summary if changed else f"no differences in {len(diffs)} stacks"]) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m terraform.review")
    parser.add_argument("command", choices=("diff", "snapshot"))
    parser.add_argument(
        "--outdir", type=Path, default=OUTDIR, help="synth output (default terraform/cdktf.out)"
    )
    parser.add_argument("--snapshots", type=Path, default=SNAPSHOT_DIR)
    arguments = parser.parse_args(argv)
    stacks = synthesized(arguments.outdir)
    if not stacks:
        print(f"no synthesized stacks in {arguments.outdir}: run `task synth` first", file=sys.stderr)
        return 1
    if arguments.command == "snapshot":
        write_snapshots(stacks, arguments.snapshots)
        print(f"wrote {len(stacks)} snapshots to {arguments.snapshots}")
        return 0
    diffs = diff_all(committed(arguments.snapshots), stacks)
    sys.stdout.write(report(diffs))
    return DIFFERENT if any(not d.empty for d in diffs) else 0


if __name__ == "__main__":
    raise SystemExit(main())
