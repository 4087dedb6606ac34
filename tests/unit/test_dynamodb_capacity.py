"""DynamoDB's capacity rules, on items shaped like the processor's, since moto reports constants."""

from __future__ import annotations

from cv_analytics.local.dynamodb_capacity import (
    Index,
    item_size,
    read_units_for,
    value_size,
    write_units,
)

PENDING_INDEX = Index("pending-by-first-seen", ("pending_bucket", "first_seen"), "ALL")
TABLE_KEYS = ("request_id",)


def _interim(**extra: dict[str, str]) -> dict[str, dict[str, str]]:
    return {
        "request_id": {"S": "r-1"},
        "status": {"S": "pending"},
        "first_seen": {"N": "1764154800123"},
        **extra,
    }


def test_sizes_count_names_and_values_as_dynamodb_does() -> None:
    assert value_size({"S": "héllo"}) == 6  # UTF-8 bytes
    assert value_size({"N": "1764154800123"}) == 8  # 13 significant digits: 7 bytes + 1
    assert value_size({"BOOL": True}) == 1
    assert value_size({"L": [{"S": "ab"}, {"S": "c"}]}) == 3 + (1 + 2) + (1 + 1)
    assert value_size({"M": {"k": {"S": "v"}}}) == 3 + 1 + 1 + 1
    assert item_size({"pk": {"S": "abc"}, "n": {"N": "10"}}) == (2 + 3) + (1 + 2)


def test_a_write_costs_a_unit_per_started_kilobyte_of_the_larger_item() -> None:
    small = {"request_id": {"S": "r-1"}}
    large = {"request_id": {"S": "r-1"}, "body": {"S": "x" * 1500}}
    assert write_units(None, small).total == 1
    assert write_units(small, large).table == 2  # 1,516 bytes: two units
    assert write_units(large, small).table == 2  # the larger of before and after
    assert write_units(large, None).table == 2  # a delete: the item removed
    assert write_units(None, large, transactional=True).table == 4


def test_a_sparse_index_is_written_when_an_item_enters_it_leaves_it_or_changes_in_it() -> None:
    pending = _interim(pending_bucket={"S": "pending"})
    settled = {**_interim(), "status": {"S": "correlated"}}
    enter = write_units(None, pending, indexes=[PENDING_INDEX], table_keys=TABLE_KEYS)
    assert (enter.table, enter.indexes) == (1, 1)
    leave = write_units(pending, settled, indexes=[PENDING_INDEX], table_keys=TABLE_KEYS)
    assert leave.indexes == 1  # the delete from the index
    outside = write_units(
        settled, {**settled, "x": {"S": "y"}}, indexes=[PENDING_INDEX], table_keys=TABLE_KEYS
    )
    assert outside.indexes == 0
    moved = {**pending, "first_seen": {"N": "1"}}
    assert write_units(pending, moved, indexes=[PENDING_INDEX], table_keys=TABLE_KEYS).indexes == 2
    keys_only = Index("k", ("pending_bucket", "first_seen"), "KEYS_ONLY")
    body = {**pending, "query_event": {"S": "q" * 2900}}
    assert write_units(pending, body, indexes=[keys_only], table_keys=TABLE_KEYS).indexes == 0
    assert write_units(pending, body, indexes=[PENDING_INDEX], table_keys=TABLE_KEYS).indexes == 3


def test_reads_cost_a_unit_per_started_4_kb_half_when_eventually_consistent() -> None:
    assert read_units_for(0, consistent=True) == 1
    assert read_units_for(4096, consistent=True) == 1
    assert read_units_for(4097, consistent=True) == 2
    assert read_units_for(4097, consistent=False) == 1
    assert read_units_for(100, consistent=False) == 0.5
