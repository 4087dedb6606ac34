"""IAM policy documents as plain data, written as JSON with Terraform references inside.

Policies are JSON strings rather than data sources so the synthesized Terraform shows every action and
resource literally: the structural diff and the tests read them to catch a widened statement.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Statement:
    actions: Sequence[str]
    resources: Sequence[str]
    sid: str = ""
    effect: str = "Allow"
    principal: dict[str, Any] | str | None = None
    condition: dict[str, Any] = field(default_factory=dict)

    def document(self) -> dict[str, Any]:
        statement: dict[str, Any] = {"Effect": self.effect, "Action": sorted(self.actions)}
        if self.sid:
            statement["Sid"] = self.sid
        if self.principal is not None:
            statement["Principal"] = self.principal
        statement["Resource"] = list(self.resources)
        if self.condition:
            statement["Condition"] = self.condition
        return statement


def policy_json(statements: Sequence[Statement]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [s.document() for s in statements]})


def assume_role_json(service: str, *, source_account: str | None = None) -> str:
    """Trust policy letting one AWS service assume a role; `source_account` pins it to calls made on behalf
    of this account's resources (the confused-deputy guard AWS recommends for service roles)."""
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if source_account is not None:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": source_account}}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})
