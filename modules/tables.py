"""A DynamoDB table built from a PynamoDB model: keys, attributes, indexes and TTL come from the model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cdktn_provider_aws.dynamodb_table import (
    DynamodbTable,
    DynamodbTableAttribute,
    DynamodbTableGlobalSecondaryIndex,
)
from constructs import Construct
from pynamodb.models import Model

from contract.tables import PAY_PER_REQUEST, table_definition


def _key(definition: dict[str, Any], key_type: str) -> str | None:
    return next((k["attribute_name"] for k in definition["key_schema"] if k["key_type"] == key_type), None)


def table_arguments(model: type[Model]) -> dict[str, Any]:
    """The Terraform arguments of the model's table that the model decides (keys, indexes, TTL)."""
    definition = table_definition(model)
    arguments: dict[str, Any] = {
        "hash_key": _key(definition, "HASH"),
        "attribute": [
            DynamodbTableAttribute(name=a["attribute_name"], type=a["attribute_type"])
            for a in definition["attribute_definitions"]
        ],
        "global_secondary_index": [
            DynamodbTableGlobalSecondaryIndex(
                name=index["index_name"],
                hash_key=_key(index, "HASH"),
                range_key=_key(index, "RANGE"),
                projection_type=index["projection_type"],
                non_key_attributes=index.get("non_key_attributes"),
            )
            for index in definition["global_secondary_indexes"]
        ],
    }
    if _key(definition, "RANGE"):
        arguments["range_key"] = _key(definition, "RANGE")
    if definition["ttl_attribute"]:
        arguments["ttl"] = {"attribute_name": definition["ttl_attribute"], "enabled": True}
    return arguments


@dataclass(frozen=True)
class TableSpec:
    """The table `name` of PynamoDB `model`; `deletion_protection` where the data matters (prod)."""

    model: type[Model]
    name: str
    deletion_protection: bool


class ModelTable(Construct):
    """On demand, encrypted, point-in-time recovery; keys, indexes and TTL from the spec's model.

    Outputs: `table`.
    """

    def __init__(self, scope: Construct, id_: str, spec: TableSpec) -> None:
        super().__init__(scope, id_)
        self.table = DynamodbTable(
            self,
            "table",
            name=spec.name,
            billing_mode=PAY_PER_REQUEST,
            server_side_encryption={"enabled": True},
            point_in_time_recovery={"enabled": True},
            deletion_protection_enabled=spec.deletion_protection,
            **table_arguments(spec.model),
        )
