"""Latency and session summaries that a week's report merges from day rollups: bounded error, and the same
result however the records were split into parts and in whatever order the parts were merged."""

from __future__ import annotations

import base64
import json
import math
import random
import struct
import sys
from collections.abc import Callable, Mapping
from itertools import pairwise
from typing import Any, Protocol, Self, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reporter.sketches import EXACT_LIMIT, LatencySketch, SessionCount
from reporter.stats import percentile

ACCURACY = LatencySketch.RELATIVE_ACCURACY
# Rounding in log() can put a value within a few ulps of a bucket edge into the neighbouring bucket.
FLOAT_SLACK = 1e-9


class Sketch(Protocol):
    def merge(self, other: Self) -> None: ...
    def to_json(self) -> dict[str, Any]: ...


S = TypeVar("S", bound=Sketch)


def serialised(sketch: Sketch) -> str:
    return json.dumps(sketch.to_json(), sort_keys=True)


def latency_sketch(values: list[float]) -> LatencySketch:
    sketch = LatencySketch()
    for value in values:
        sketch.add(value)
    return sketch


def session_count(ids: list[str]) -> SessionCount:
    count = SessionCount()
    for session_id in ids:
        count.add(session_id)
    return count


def merged_in_any_tree(
    data: st.DataObject,
    inputs: list[Any],
    build: Callable[[list[Any]], S],
    load: Callable[[Mapping[str, Any]], S],
) -> S:
    """Shuffle `inputs`, cut them into parts, summarise each part, then merge random pairs until one is
    left (any merge tree), passing some of them through JSON on the way, as rollups are."""
    rnd = data.draw(st.randoms(use_true_random=False))
    shuffled = list(inputs)
    rnd.shuffle(shuffled)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(shuffled)), max_size=6)))
    bounds = [0, *cuts, len(shuffled)]
    parts = [build(shuffled[start:end]) for start, end in pairwise(bounds)]
    while len(parts) > 1:
        left, right = rnd.sample(range(len(parts)), 2)
        into = parts[left]
        if rnd.random() < 0.5:
            into = load(json.loads(json.dumps(into.to_json())))
        into.merge(parts[right])
        parts[left] = into
        del parts[right]
    return load(json.loads(json.dumps(parts[0].to_json())))


latencies = st.one_of(
    st.just(0.0),
    st.just(-0.0),
    st.sampled_from([1.0, 42.0, 250.5, 1_000.0]),
    st.integers(0, 100_000),
    st.floats(min_value=0.1, max_value=1e6),
)


def exact_at_rank(values: list[float], q: float) -> float:
    return sorted(values)[math.floor(q * (len(values) - 1))]


# LatencySketch


@settings(max_examples=300, deadline=None)
@given(values=st.lists(latencies, min_size=1, max_size=300))
def test_every_quantile_is_within_two_percent_of_the_value_at_its_rank(values: list[float]) -> None:
    sketch = latency_sketch(values)
    for q in (0.0, 0.5, 0.95, 0.99, 1.0):
        exact = exact_at_rank(values, q)
        assert abs(sketch.quantile(q) - exact) <= ACCURACY * exact * (1 + FLOAT_SLACK), q
    assert sketch.count == len(values)
    assert sketch.minimum == min(values)
    assert sketch.maximum == max(values)


@settings(max_examples=300, deadline=None)
@given(values=st.lists(latencies, min_size=1, max_size=300))
def test_every_percentile_is_within_two_percent_of_the_interpolated_one_the_records_give(
    values: list[float],
) -> None:
    sketch = latency_sketch(values)
    ordered = sorted(values)
    for pct in (0, 25, 50, 95, 99, 100):
        exact = percentile(ordered, pct)
        assert abs(sketch.percentile(pct) - exact) <= ACCURACY * exact * (1 + FLOAT_SLACK), pct


@settings(max_examples=100, deadline=None)
@given(
    values=st.lists(
        st.one_of(st.just(0.0), st.floats(min_value=sys.float_info.min, allow_infinity=False)), min_size=1
    )
)
def test_the_bound_holds_from_the_smallest_normal_float_to_the_largest(values: list[float]) -> None:
    sketch = latency_sketch(values)
    for q in (0.0, 0.5, 0.99, 1.0):
        exact = exact_at_rank(values, q)
        assert abs(sketch.quantile(q) - exact) <= ACCURACY * exact * (1 + FLOAT_SLACK)


def test_a_week_of_latencies_gives_the_percentiles_the_report_showed_within_two_percent() -> None:
    """With thousands of latencies the value at the rank and its neighbour, between which `percentile`
    interpolates, are close: the figures the report shows move by less than the sketch's 2 %."""
    rnd = random.Random(20261130)
    values = [rnd.lognormvariate(7, 1) for _ in range(10_000)]
    sketch = latency_sketch(values)
    ordered = sorted(values)
    for q in (0.5, 0.95, 0.99):
        interpolated = percentile(ordered, q * 100)
        assert abs(sketch.quantile(q) - interpolated) <= ACCURACY * interpolated


@settings(max_examples=200, deadline=None)
@given(values=st.lists(latencies, max_size=200), data=st.data())
def test_merging_latency_parts_in_any_order_and_tree_gives_the_sketch_of_the_whole(
    values: list[float], data: st.DataObject
) -> None:
    whole = latency_sketch(values)
    merged = merged_in_any_tree(data, values, latency_sketch, LatencySketch.from_json)
    assert serialised(merged) == serialised(whole)
    assert merged == whole


def test_zeros_of_any_spelling_and_whole_numbers_serialise_as_the_same_floats() -> None:
    assert serialised(latency_sketch([0, -0.0, 5, 7])) == serialised(latency_sketch([0.0, 0.0, 5.0, 7.0]))
    assert latency_sketch([-0.0]).to_json()["min"] == 0.0
    assert math.copysign(1, latency_sketch([-0.0]).to_json()["max"]) == 1


def test_a_cached_answer_counts_as_zero_and_is_the_minimum() -> None:
    sketch = latency_sketch([0.0, 0.0, 0.0, 120.0])
    assert sketch.quantile(0.5) == 0.0
    assert sketch.minimum == 0.0
    assert sketch.count == 4


def test_the_lowest_and_highest_ranks_are_the_exact_minimum_and_maximum() -> None:
    sketch = latency_sketch([0.0, 120.0, 130.0, 140.0, 150.0])
    assert sketch.quantile(1.0) == 150.0
    assert sketch.quantile(0.0) == 0.0
    assert latency_sketch([130.0, 120.0, 140.0]).quantile(0.0) == 120.0
    assert latency_sketch([120.0]).quantile(0.5) == 120.0


def test_one_millisecond_to_ten_minutes_takes_about_330_buckets_however_many_latencies() -> None:
    steps = 100_000
    values = [math.exp(math.log(600_000) * step / steps) for step in range(steps + 1)]
    serialised_form = latency_sketch(values).to_json()
    assert 330 <= len(serialised_form["counts"]) <= 335
    assert len(serialised_form["indexes"]) == len(serialised_form["counts"])
    assert sum(serialised_form["counts"]) == steps + 1


def test_an_empty_sketch_has_no_quantile_and_no_bounds() -> None:
    sketch = LatencySketch()
    assert sketch.count == 0
    assert sketch.minimum is None
    assert sketch.maximum is None
    with pytest.raises(ValueError, match="empty"):
        sketch.quantile(0.5)
    assert LatencySketch.from_json(sketch.to_json()) == sketch
    sketch.merge(LatencySketch())
    assert sketch == LatencySketch()


@pytest.mark.parametrize("value", [-1.0, -1e-300, math.nan, math.inf, -math.inf])
def test_a_negative_or_not_finite_latency_is_refused(value: float) -> None:
    sketch = LatencySketch()
    with pytest.raises(ValueError, match="latency must be a finite number of milliseconds >= 0"):
        sketch.add(value)
    assert sketch.count == 0


@pytest.mark.parametrize("q", [-0.01, 1.01, math.nan])
def test_a_quantile_outside_zero_to_one_is_refused(q: float) -> None:
    with pytest.raises(ValueError, match="outside 0 to 1"):
        latency_sketch([1.0]).quantile(q)


def test_merging_a_sketch_into_itself_counts_its_latencies_twice() -> None:
    sketch = latency_sketch([0.0, 3.0, 40.0])
    sketch.merge(sketch)
    assert sketch == latency_sketch([0.0, 3.0, 40.0] * 2)


GOOD_LATENCY = latency_sketch([0.0, 12.0, 12.5, 900.0]).to_json()
ABSENT = object()


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("counts", ABSENT, "no 'counts'"),
        ("min", ABSENT, "no 'min'"),
        ("accuracy", 0.01, "'accuracy' is 0.01"),
        ("zeros", -1, "'zeros' must be an integer >= 0"),
        ("count", True, "'count' must be an integer >= 0"),
        ("count", 5, "'count' 5 is not 'zeros' plus the sum of 'counts'"),
        ("counts", [1, 2], "'indexes' has 3 items, 'counts' 2"),
        ("counts", [1, 0, 2], "'counts' must all be at least 1"),
        ("indexes", "1,2,3", "'indexes' must be a list of integers"),
        ("indexes", [63, 0, 100], "'indexes' must be ascending"),
        ("min", 12.0, "'min' must be 0 with these counts"),
        ("max", 5000.0, "'max' 5000.0 is not in its bucket"),
        ("max", "900", "'max' must be a number"),
    ],
)
def test_a_malformed_latency_sketch_is_refused_naming_the_key(key: str, value: object, message: str) -> None:
    data = {name: figure for name, figure in GOOD_LATENCY.items() if name != key}
    if value is not ABSENT:
        data[key] = value
    with pytest.raises(ValueError, match=message):
        LatencySketch.from_json(data)


def test_a_sketch_of_no_latencies_must_not_claim_bounds() -> None:
    data = {**LatencySketch().to_json(), "min": 1.0}
    with pytest.raises(ValueError, match="'min' and 'max' null"):
        LatencySketch.from_json(data)


def test_min_above_max_is_refused() -> None:
    data = latency_sketch([12.0, 12.1]).to_json()
    with pytest.raises(ValueError, match="'min' is above 'max'"):
        LatencySketch.from_json({**data, "min": 12.1, "max": 12.0})


# SessionCount


def ids(count: int, prefix: str = "s") -> list[str]:
    return [f"{prefix}{number}" for number in range(count)]


def test_sessions_are_counted_exactly_up_to_the_limit_and_estimated_past_it() -> None:
    count = SessionCount()
    for session_id in ids(EXACT_LIMIT):
        count.add(session_id)
        count.add(session_id)
    exact_at_the_limit = count.exact
    assert count.estimate() == EXACT_LIMIT == 512
    count.add("one more")
    assert (exact_at_the_limit, count.exact) == (True, False)
    assert abs(count.estimate() - 513) <= 0.03 * 513


@settings(max_examples=100, deadline=None)
@given(numbers=st.lists(st.integers(0, 2_000), max_size=EXACT_LIMIT))
def test_an_exact_count_is_the_number_of_distinct_ids(numbers: list[int]) -> None:
    count = session_count([f"s{number}" for number in numbers])
    assert count.exact
    assert count.estimate() == len(set(numbers))


@pytest.mark.parametrize("distinct", [10_000, 100_000])
def test_the_estimate_is_within_five_percent_of_many_distinct_sessions(distinct: int) -> None:
    estimate = session_count(ids(distinct)).estimate()
    assert abs(estimate - distinct) <= 0.05 * distinct


def test_the_estimate_is_not_biased_where_linear_counting_gives_way() -> None:
    """Eight independent counts of 10,000 (just below 2.5 * 4096, the end of the small-range correction):
    their mean is within 2 %, three and a half standard errors of a mean of eight."""
    estimates = [session_count(ids(10_000, prefix=f"{seed}-")).estimate() for seed in range(8)]
    assert abs(sum(estimates) / len(estimates) - 10_000) <= 0.02 * 10_000


def test_a_session_seen_again_after_many_others_still_counts_once() -> None:
    many = ids(20_000)
    assert session_count(many + many) == session_count(many)
    assert session_count(ids(300) * 30) == session_count(ids(300))


def session_ids(numbers: list[int], block: int) -> list[str]:
    return [f"s{number}" for number in numbers] + [f"s{number}" for number in range(block)]


@settings(max_examples=150, deadline=None)
@given(
    numbers=st.lists(st.integers(0, 3_000), max_size=100),
    block=st.one_of(st.just(0), st.integers(400, 1_200)),
    data=st.data(),
)
def test_merging_session_parts_in_any_order_and_tree_gives_the_count_of_the_whole(
    numbers: list[int], block: int, data: st.DataObject
) -> None:
    """`block` pushes some inputs past 512 distinct: parts then mix exact and estimated counts."""
    everything = session_ids(numbers, block)
    whole = session_count(everything)
    merged = merged_in_any_tree(data, everything, session_count, SessionCount.from_json)
    assert serialised(merged) == serialised(whole)
    assert merged == whole
    assert merged.exact == (len(set(everything)) <= EXACT_LIMIT)


def test_exact_parts_whose_union_passes_the_limit_become_an_estimate() -> None:
    left, right = session_count(ids(400)), session_count(ids(700)[300:])
    left.merge(right)
    assert not left.exact
    assert left == session_count(ids(700))
    small, overlapping = session_count(ids(300)), session_count(ids(400)[100:])
    small.merge(overlapping)
    assert small.exact
    assert small.estimate() == 400


def test_an_exact_part_merged_into_an_estimate_adds_its_sessions() -> None:
    estimated, exact = session_count(ids(1_000)), session_count(ids(1_100)[900:])
    estimated.merge(exact)
    assert estimated == session_count(ids(1_100))
    exact, estimated = session_count(ids(1_100)[900:]), session_count(ids(1_000))
    exact.merge(estimated)
    assert exact == session_count(ids(1_100))


def test_the_hash_is_the_same_in_every_process() -> None:
    """blake2b, not `hash`, which Python salts per process: rollups from different invocations merge."""
    assert session_count(["abc"]).to_json() == {"hashes": "2LsU2DPVlVk="}


def test_an_empty_count_is_exact_and_zero() -> None:
    count = SessionCount()
    assert count.exact
    assert count.estimate() == 0
    assert SessionCount.from_json(count.to_json()) == count


def test_equal_sets_serialise_equally_whatever_the_order() -> None:
    forwards = session_count(ids(200))
    backwards = session_count(ids(200)[::-1])
    assert serialised(forwards) == serialised(backwards)


ESTIMATED = session_count(ids(600)).to_json()["registers"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, r"needs one of 'hashes' or 'registers', got \[\]"),
        ({"hashes": "", "registers": ESTIMATED}, "needs one of 'hashes' or 'registers'"),
        ({"hashes": 12}, "'hashes' must be a base64 string, got int"),
        ({"hashes": "not base64!"}, "'hashes' is not base64"),
        ({"hashes": "AAAA"}, "'hashes' must be at most 512 hashes of 8 bytes, got 3 bytes"),
        ({"hashes": "AAAAAAAAAAIAAAAAAAAAAQ=="}, "'hashes' must be ascending without repeats"),
        ({"hashes": "AAAAAAAAAAEAAAAAAAAAAQ=="}, "'hashes' must be ascending without repeats"),
        ({"registers": ESTIMATED[:-8]}, "'registers' must be 4096 bytes of at most 53"),
        ({"registers": "Pw==" * 4096}, "'registers' is not base64"),
    ],
)
def test_a_malformed_session_count_is_refused_naming_the_key(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SessionCount.from_json(data)


def test_too_many_exact_hashes_or_a_register_too_high_are_refused() -> None:
    too_many = struct.pack(f">{EXACT_LIMIT + 1}Q", *range(EXACT_LIMIT + 1))
    with pytest.raises(ValueError, match="at most 512 hashes of 8 bytes, got 4104 bytes"):
        SessionCount.from_json({"hashes": base64.b64encode(too_many).decode()})
    high = bytearray(4096)
    high[0] = 54
    with pytest.raises(ValueError, match="'registers' must be 4096 bytes of at most 53, got 4096 bytes"):
        SessionCount.from_json({"registers": base64.b64encode(bytes(high)).decode()})


def test_a_serialised_count_reads_back_as_the_same_count() -> None:
    for count in (session_count(ids(EXACT_LIMIT)), session_count(ids(600))):
        assert SessionCount.from_json(count.to_json()) == count
        assert SessionCount.from_json(count.to_json()).estimate() == count.estimate()
