"""Key layout: a week is seven day partitions, shards are stable and readers see every shard."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from contract.keys import day_partition, day_partitions, shard_of, utc_day
from contract.tables import AnalyticsItem, InterimRequest, table_definition


def test_a_timestamp_falls_on_its_utc_day() -> None:
    assert utc_day(1764154800123) == date(2025, 11, 26)
    assert utc_day(1764201599999) == date(2025, 11, 26)
    assert utc_day(1764201600000) == date(2025, 11, 27)


def test_shard_zero_is_the_plain_day_so_raising_the_shard_count_keeps_old_days_readable() -> None:
    assert day_partition(date(2026, 11, 23)) == "DAY#2026-11-23"
    assert day_partitions(date(2026, 11, 23), 1) == ["DAY#2026-11-23"]
    assert day_partitions(date(2026, 11, 23), 3) == ["DAY#2026-11-23", "DAY#2026-11-23#1", "DAY#2026-11-23#2"]


@given(identifier=st.text(min_size=1), shards=st.integers(min_value=1, max_value=100))
def test_a_shard_is_stable_and_within_range(identifier: str, shards: int) -> None:
    shard = shard_of(identifier, shards)
    assert 0 <= shard < shards
    assert shard == shard_of(identifier, shards)
    assert day_partition(date(2026, 1, 1), shard) in day_partitions(date(2026, 1, 1), shards)


def test_the_table_definitions_come_from_the_models() -> None:
    interim = table_definition(InterimRequest)
    assert interim["key_schema"] == [{"attribute_name": "request_id", "key_type": "HASH"}]
    assert interim["ttl_attribute"] == "expires_at"
    (index,) = interim["global_secondary_indexes"]
    assert index["index_name"] == "pending-by-first-seen"
    assert [key["key_type"] for key in index["key_schema"]] == ["HASH", "RANGE"]
    analytics = table_definition(AnalyticsItem)
    assert [key["attribute_name"] for key in analytics["key_schema"]] == ["pk", "sk"]
    (late,) = analytics["global_secondary_indexes"]
    assert late == {
        "index_name": "late-records",
        "key_schema": [{"attribute_name": "late_bucket", "key_type": "HASH"}],
        "projection_type": "INCLUDE",
        "non_key_attributes": ["kind", "recorded_at", "replaced_partition"],
    }
