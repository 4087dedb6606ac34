"""What a record adds to its rollups, and what the rollups give back: the latency histogram's error bound,
healing as a subtraction, and the hour a record counts in."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contract.facts import Request
from contract.rollup import (
    HOUR_PREFIX,
    RELATIVE_ACCURACY,
    RollupItems,
    canonical,
    contributions,
    merge,
    negated,
    read_items,
    rollup_partition,
)
from reporter.insights import WeekAggregator, WeekInsights, build_insights, data_quality
from tests.fixtures.reporter import WEEK, at

latencies = st.lists(
    st.one_of(st.just(0.0), st.floats(min_value=0.5, max_value=300_000, allow_nan=False)),
    min_size=1,
    max_size=300,
)


# The bound holds with equality at a bucket's edge: allow for the last bit of floating point.
BOUND = RELATIVE_ACCURACY * (1 + 1e-9)


@settings(max_examples=60, deadline=None)
@given(values=latencies)
def test_latency_percentiles_are_within_the_stated_relative_error(values: list[float]) -> None:
    records = [
        Request(f"r{index}", "complete", at(index % 7, 12), latency_ms=value, match_type="full")
        for index, value in enumerate(values)
    ]
    latency = insights_of_week(WeekAggregator(WEEK).add_all(records)).latency
    assert latency is not None and latency.count == len(values)
    figures = {50: latency.p50, 95: latency.p95, 99: latency.p99, 0: latency.minimum, 100: latency.maximum}
    for pct, figure in figures.items():
        assert figure == pytest.approx(float(np.percentile(values, pct)), rel=BOUND, abs=1e-9)


def insights_of_week(week: WeekAggregator) -> WeekInsights:
    return build_insights([week], data_quality(week, [], 0, 0), {}, "GBP", None)


def test_a_record_counts_in_the_utc_hour_of_its_question() -> None:
    # 22 November 2026, 23:59:59.999 UTC and a millisecond later: two days, two hours.
    late, early = 1795391999999, 1795392000000
    keys = [
        delta.key
        for request in (Request("a", "complete", late), Request("b", "complete", early))
        for delta in contributions(request, shards=1)
    ]
    assert keys[0][0] == rollup_partition(WEEK.days[6]) and keys[0][1] == f"{HOUR_PREFIX}23"
    assert keys[1][1] == f"{HOUR_PREFIX}00" and keys[1][0] != keys[0][0]


def test_healing_takes_the_orphan_out_and_puts_the_complete_request_in() -> None:
    orphan = Request(
        "r1", "query_only", at(2, 10), session_id="s1", question="Notice period?", outcome="error"
    )
    complete = Request("r1", "complete", at(2, 10), session_id="s1", question="Notice period?",
                       match_type="none", match_score=12.5, latency_ms=900, healed=True)  # fmt: skip
    live = RollupItems()
    live.add(orphan, shards=2)
    heal = merge([*(negated(delta) for delta in contributions(orphan, shards=2)),
                  *contributions(complete, shards=2)])  # fmt: skip
    assert len(heal) == len({delta.key for delta in heal}) == 2  # one update per item, as a transaction needs
    for delta in heal:
        live.apply(delta)
    assert canonical(live.items) == canonical(RollupItems().add_all([complete], shards=2).items)
    hours, _ = read_items(live.items)
    week = WeekAggregator(WEEK)
    week.add_rollups(hours, read_items(live.items)[1])
    assert (week.query_only, week.errors, week.healed, week.missing) == (0, 0, 1, 1)
    assert week.orphan_ids == [] and week.error_ids == []
    assert week.unanswered["notice period"].best_score == 12.5


@pytest.mark.parametrize("sessions", [1_500, 6_000, 40_000])
def test_a_busy_weeks_sessions_come_from_the_sketch_within_its_error(sessions: int) -> None:
    """Past the exact count, sessions spread over hours and days merge into one estimate: HyperLogLog's
    standard error with 128 registers is 9.2 %; these fixed inputs stay within about two of it."""
    records = [
        Request(f"r{index}", "complete", at(index % 7, index % 24), session_id=f"session-{index % sessions}")
        for index in range(sessions * 2)
    ]
    rollups = RollupItems().add_all(records, shards=2)
    week = WeekAggregator(WEEK)
    week.add_rollups(*read_items(rollups.items))  # no records: the sketch is all there is
    assert week.exact_sessions is None
    assert week.sessions == pytest.approx(sessions, rel=0.2)
    largest = max(len(item) for (_, sk), item in rollups.items.items() if sk.startswith(HOUR_PREFIX))
    assert largest < 300  # bounded by 128 registers and the ranks they reach, not by the sessions
