"""What a plan will do, read from Terraform's own plan (`terraform show -json PLANFILE`), for a reviewer.

The provider decides what is replaced (its `replace_paths`), what is computed and what is sensitive; this
module only sorts what the plan says: per stack the resources created, updated in place, replaced and
destroyed with each changed attribute (before -> after), then the two findings that must stop a merge until
someone has looked: data loss (a table, queue or bucket destroyed or replaced) and IAM that grants more than
the applied policy did (the statement logic of `terraform.review`, fed the plan's before and after). A
renamed construct renames its resource's address, which a plan shows as a destroy beside a create: pairs whose
configuration is the same are named as probable moves, with the `moved` block that keeps the resource.
Pure: plan JSON in, a `StackReview` out; no Terraform, no AWS.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from terraform.plan_cost import CostChange, Pricing, cost_changes, default_pricing
from terraform.review import POLICY_ATTRIBUTES, STATEFUL, gained_grants, widening

NO_CHANGE = 0
CHANGED = 2
NEEDS_ATTENTION = 3  # data loss or wider IAM

CREATE, UPDATE, REPLACE, DESTROY, MOVE = "create", "update", "replace", "destroy", "move"
# Attributes that hold a digest: the digest changing is the news, its 64 hex digits are not.
HASH_SUFFIXES = ("_hash", "sha256", "etag", "_digest")
# A destroy and a create of one type are a probable move when the new resource's configured values are, to
# this share, what the old one held: a rename keeps them all, while two different resources of one type
# share a few (the same role, the same tags) but not their names and settings.
MOVE_SIMILARITY = 0.9
# Fewer configured values than this say too little to call two resources the same one.
MOVE_MIN_VALUES = 3

Path = tuple[str | int, ...]


def _action(actions: Sequence[str]) -> str | None:
    """The plan's action list as one word; None for no-op and data reads."""
    if "delete" in actions and "create" in actions:
        return REPLACE
    if "create" in actions:
        return CREATE
    if "delete" in actions:
        return DESTROY
    if "update" in actions:
        return UPDATE
    return None


def _leaves(value: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Scalar leaves by path; a list of scalars and an empty container are one leaf."""
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list) and value and any(isinstance(v, dict | list) for v in value):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    else:
        yield path, value


def _marked(mask: Any, path: Path) -> bool:
    """Whether `path` or a value holding it is `true` in a plan mask (`after_unknown`, `*_sensitive`)."""
    for step in path:
        if mask is True:
            return True
        if isinstance(mask, dict) and isinstance(step, str):
            mask = mask.get(step, False)
        elif isinstance(mask, list) and isinstance(step, int) and step < len(mask):
            mask = mask[step]
        else:
            return False
    return mask is True


def _true_paths(mask: Any, path: Path = ()) -> Iterator[Path]:
    if mask is True:
        yield path
    elif isinstance(mask, dict):
        for key, item in mask.items():
            yield from _true_paths(item, (*path, key))
    elif isinstance(mask, list):
        for index, item in enumerate(mask):
            yield from _true_paths(item, (*path, index))


def dotted(path: Sequence[str | int]) -> str:
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text


def _is_hash(path: Path) -> bool:
    names = [step for step in path if isinstance(step, str)]
    return bool(names) and names[-1].lower().endswith(HASH_SUFFIXES)


@dataclass(frozen=True)
class AttributeChange:
    path: str
    before: str
    after: str

    def __str__(self) -> str:
        return f"{self.path}: {self.before} -> {self.after}"


def _shown(value: Any, *, present: bool, sensitive: bool, unknown: bool, digest: bool) -> str:
    if unknown:
        return "(known after apply)"
    if not present:
        return "(none)"
    if sensitive:
        return "(sensitive)"
    if digest and isinstance(value, str) and value:
        return f"(hash {value[:12]}…)"
    return json.dumps(value, sort_keys=True)


def attribute_changes(
    change: Mapping[str, Any], *, replacing: bool = False
) -> tuple[list[AttributeChange], list[str]]:
    """Every attribute whose value differs between the plan's before and after, as a reviewer reads it, and
    (for a replacement) the attributes merely recomputed.

    A replaced resource is created anew, so everything the provider computes (ARN, id, defaults left unset)
    reads `(known after apply)` or null, and an updated one recomputes what derives from it (a function's
    new version, its qualified ARNs): those are named once, as recomputed, and the attributes the
    configuration really changes stand alone. A policy document is left to the IAM findings (grants gained
    and dropped), where it reads as statements rather than as one long JSON string.
    """
    before, after = change.get("before") or {}, change.get("after") or {}
    unknown = change.get("after_unknown") or {}
    before_sensitive = change.get("before_sensitive") or {}
    after_sensitive = change.get("after_sensitive") or {}
    old, new = dict(_leaves(before)), dict(_leaves(after))
    changes, recomputed = [], set()
    for path in sorted(set(old) | set(new) | set(_true_paths(unknown)), key=lambda p: [str(s) for s in p]):
        is_unknown = _marked(unknown, path)
        if path and path[0] in POLICY_ATTRIBUTES and is_unknown and path in old:
            # Its grants cannot be compared until apply (a new ARN in it, say): say so rather than nothing.
            changes.append(AttributeChange(dotted(path), "(the applied document)", "(known after apply)"))
            continue
        if not path or path[0] in POLICY_ATTRIBUTES:
            continue
        if not is_unknown and old.get(path) == new.get(path) and (path in old) == (path in new):
            continue
        if is_unknown or (replacing and new.get(path) in (None, {}, [])):
            recomputed.add(str(path[0]))
            continue
        digest = _is_hash(path)
        shown_before = _shown(
            old.get(path), present=path in old, sensitive=_marked(before_sensitive, path), unknown=False,
            digest=digest,
        )  # fmt: skip
        shown_after = _shown(
            new.get(path), present=path in new, sensitive=_marked(after_sensitive, path), unknown=is_unknown,
            digest=digest,
        )  # fmt: skip
        changes.append(AttributeChange(dotted(path), shown_before, shown_after))
    return changes, sorted(recomputed)


@dataclass(frozen=True)
class ResourceChange:
    address: str
    type: str
    action: str
    attributes: list[AttributeChange] = field(default_factory=list)
    recomputed: list[str] = field(default_factory=list)
    replace_paths: list[str] = field(default_factory=list)
    moved_from: str | None = None
    iam_gained: list[str] = field(default_factory=list)
    iam_dropped: list[str] = field(default_factory=list)

    @property
    def loses_data(self) -> bool:
        return self.type in STATEFUL and self.action in (REPLACE, DESTROY)


@dataclass(frozen=True)
class SuggestedMove:
    """A destroyed address and a created one that hold the same configuration: probably a renamed construct,
    which a `moved` block turns from a destroy-and-create into a change of address only."""

    source: str
    target: str
    equal: int
    compared: int

    @property
    def terraform_block(self) -> str:
        return f"moved {{\n  from = {self.source}\n  to   = {self.target}\n}}"

    @property
    def cdktn_call(self) -> str:
        """The stack code's way to write the block: on the renamed construct's resource."""
        return f'move_from_id("{self.source}")'


@dataclass(frozen=True)
class StackReview:
    stack: str
    resources: list[ResourceChange] = field(default_factory=list)
    outputs: list[AttributeChange] = field(default_factory=list)
    moves: list[SuggestedMove] = field(default_factory=list)
    costs: list[CostChange] = field(default_factory=list)

    def move_of(self, address: str) -> SuggestedMove | None:
        return next((m for m in self.moves if address in (m.source, m.target)), None)

    def of(self, action: str) -> list[ResourceChange]:
        return [r for r in self.resources if r.action == action]

    @property
    def data_loss(self) -> list[ResourceChange]:
        return [r for r in self.resources if r.loses_data]

    @property
    def widened(self) -> list[ResourceChange]:
        return [r for r in self.resources if r.iam_gained]

    @property
    def changed(self) -> bool:
        return bool(self.resources or self.outputs)


def _resource_change(entry: Mapping[str, Any]) -> ResourceChange | None:
    change = entry["change"]
    # A `moved` block: Terraform names the old address; alone it changes nothing but the state's address.
    moved_from = entry.get("previous_address")
    action = _action(change["actions"]) or (MOVE if moved_from else None)
    if action is None or entry.get("mode", "managed") != "managed":
        return None
    before, after = change.get("before") or {}, change.get("after") or {}
    address = entry["address"]
    gained = widening(address, after, before) if action != DESTROY else []
    dropped = gained_grants(before, after) if action != CREATE else []
    attributes, recomputed = (
        attribute_changes(change, replacing=action == REPLACE) if action in (UPDATE, REPLACE) else ([], [])
    )
    return ResourceChange(
        address=address,
        type=entry["type"],
        action=action,
        attributes=attributes,
        recomputed=recomputed,
        replace_paths=[dotted(path) for path in change.get("replace_paths") or []],
        moved_from=moved_from,
        iam_gained=gained,
        iam_dropped=dropped,
    )


def _output_changes(plan: Mapping[str, Any]) -> list[AttributeChange]:
    found = []
    for name, change in sorted((plan.get("output_changes") or {}).items()):
        if _action(change["actions"]) is None:
            continue
        sensitive = bool(change.get("before_sensitive") or change.get("after_sensitive"))
        before, after = change.get("before"), change.get("after")
        found.append(AttributeChange(
            name,
            _shown(before, present=before is not None, sensitive=sensitive, unknown=False, digest=False),
            _shown(after, present=after is not None, sensitive=sensitive,
                   unknown=bool(change.get("after_unknown")), digest=False),
        ))  # fmt: skip
    return found


def _configured(change: Mapping[str, Any]) -> dict[Path, Any]:
    """A planned create's values known now: what the configuration sets (and known references)."""
    unknown = change.get("after_unknown") or {}
    return {
        path: value
        for path, value in _leaves(change.get("after") or {})
        if path and value not in (None, {}, []) and not _marked(unknown, path)
    }


def suggested_moves(entries: Sequence[Mapping[str, Any]]) -> list[SuggestedMove]:
    """Destroy-and-create pairs of one type whose configuration matches (`MOVE_SIMILARITY`), best first,
    each address in at most one pair."""
    destroyed = [e for e in entries if _action(e["change"]["actions"]) == DESTROY]
    created = [e for e in entries if _action(e["change"]["actions"]) == CREATE]
    candidates = []
    for new in created:
        configured = _configured(new["change"])
        if len(configured) < MOVE_MIN_VALUES:
            continue
        for old in (e for e in destroyed if e["type"] == new["type"]):
            held = dict(_leaves(old["change"].get("before") or {}))
            equal = sum(1 for path, value in configured.items() if held.get(path) == value)
            if equal >= MOVE_SIMILARITY * len(configured):
                candidates.append(SuggestedMove(old["address"], new["address"], equal, len(configured)))
    moves: list[SuggestedMove] = []
    for move in sorted(candidates, key=lambda m: (-m.equal / m.compared, -m.equal, m.source, m.target)):
        if all({move.source, move.target}.isdisjoint({m.source, m.target}) for m in moves):
            moves.append(move)
    return sorted(moves, key=lambda m: m.source)


def review_plan(stack: str, plan: Mapping[str, Any], pricing: Pricing | None = None) -> StackReview:
    """One stack's plan JSON as the changes a reviewer must see, priced with `pricing` (the repository's
    price table and stated traffic unless given)."""
    if "format_version" not in plan:
        raise ValueError(f"{stack}: not the JSON of `terraform show -json PLANFILE` (no format_version)")
    entries = [e for e in plan.get("resource_changes") or [] if e.get("mode", "managed") == "managed"]
    resources = [c for c in map(_resource_change, entries) if c is not None]
    costs = cost_changes(entries, pricing or default_pricing())
    return StackReview(stack, resources, _output_changes(plan), suggested_moves(entries), costs)


def exit_code(reviews: Sequence[StackReview]) -> int:
    """0 when nothing changes, 2 when something does, 3 when a change loses data or widens IAM."""
    if any(r.data_loss or r.widened for r in reviews):
        return NEEDS_ATTENTION
    return CHANGED if any(r.changed for r in reviews) else NO_CHANGE
