"""The week's figures against a hand-counted week, and percentiles against numpy."""

from __future__ import annotations

import random
from datetime import date

import numpy as np
import pytest

from reporter.records import Quarantined, Request
from reporter.stats import change, percentile
from reporter.view_model import ModelUsage, Ranked
from tests.support.reporter_week import MODEL, WEEK, at, insights_of

OTHER_MODEL = "some-other-model"


def hand_counted_week() -> list[Request]:
    return [
        Request("r1", "complete", at(0, 10), session_id="s1", question="What is her Python experience?",
                match_type="full", match_score=90, latency_ms=1000, cache_hit=True, sources=("Python", "AWS"),
                model=MODEL, input_tokens=1000, output_tokens=200, country="GB",
                referer="https://www.linkedin.com/in/someone"),
        Request("r2", "complete", at(0, 11), session_id="s1", question="what's her python   experience",
                match_type="partial", match_score=60, latency_ms=2000, cache_hit=False, sources=("Python",),
                model=MODEL, input_tokens=500, output_tokens=100, country="GB",
                referer="https://www.linkedin.com/feed/"),
        Request("r3", "complete", at(2, 9), session_id="s2", question="Does she speak French?",
                match_type="none", match_score=10, latency_ms=3000, cache_hit=False, model=MODEL,
                input_tokens=800, output_tokens=50, country="DE"),
        Request("r4", "query_only", at(3, 12), session_id="anonymous", question="Is she a cat?",
                outcome="no_results", status=200),
        Request("r5", "response_only", at(6, 23, 30), session_id="s3", match_type="partial", match_score=50,
                outcome="answered", model=OTHER_MODEL, input_tokens=100, output_tokens=100),
        Request("r6", "complete", at(5, 8), session_id="s2", question="Has she led a team using Kubernetes?",
                match_type="full", match_score=80, latency_ms=4000, cache_hit=True, model=MODEL,
                input_tokens=1000, output_tokens=300, outcome="error", healed=True),
        # Next Monday 00:00 local time belongs to the next week.
        Request("r7", "complete", WEEK.end_ms, session_id="s9", question="Too late?", match_type="full"),
    ]  # fmt: skip


def previous_week() -> list[Request]:
    previous = WEEK.previous()
    return [
        Request("p1", "complete", at(1, 10, week=previous), match_type="full", match_score=70),
        Request("p2", "query_only", at(4, 10, week=previous), question="Anyone?"),
    ]


QUARANTINED = [
    Quarantined("m1", at(1, 1), "$.timestamp: must be integer"),
    Quarantined("m2", at(4, 1), "$.timestamp: must be integer"),
    Quarantined("m3", WEEK.end_ms + 1, "not JSON"),
]


@pytest.fixture
def insights():  # type: ignore[no-untyped-def]
    return insights_of(hand_counted_week(), previous_week(), quarantined=QUARANTINED, dlq_depth=4, pending=2)


def test_totals_and_change_against_the_week_before(insights) -> None:  # type: ignore[no-untyped-def]
    assert insights.totals.requests == 6
    assert insights.totals.answered == 3  # r1, r2, r5: a response that found something
    assert insights.totals.answer_rate == 0.5
    assert insights.totals.sessions == 3  # s1, s2, s3; the Worker's "anonymous" is no session
    assert insights.previous.requests == 2
    assert insights.requests_change.relative == 2.0
    assert insights.answered_change.relative == 2.0


def test_latency_percentiles_interpolate_between_ranks(insights) -> None:  # type: ignore[no-untyped-def]
    latency = insights.latency
    assert (latency.count, latency.minimum, latency.maximum) == (4, 1000, 4000)
    # numpy's linear percentiles of 1000, 2000, 3000, 4000, within the latency sketch's 2 %.
    assert latency.p50 == pytest.approx(2500, rel=0.02)
    assert latency.p95 == pytest.approx(3850, rel=0.02)
    assert latency.p99 == pytest.approx(3970, rel=0.02)


def test_cache_hit_rate_counts_only_requests_that_reported_it(insights) -> None:  # type: ignore[no-untyped-def]
    assert insights.cache_hit_rate == 0.5


def test_tokens_and_cost_per_model_from_the_price_table(insights) -> None:  # type: ignore[no-untyped-def]
    assert insights.models == [
        ModelUsage(MODEL, requests=4, input_tokens=3300, output_tokens=650,
                   cost=pytest.approx((3300 * 0.20 + 650 * 0.60) / 1e6)),  # type: ignore[arg-type]
        ModelUsage(OTHER_MODEL, requests=1, input_tokens=100, output_tokens=100, cost=None),
    ]  # fmt: skip
    assert insights.total_cost == pytest.approx(0.00105)


def test_match_quality(insights) -> None:  # type: ignore[no-untyped-def]
    assert (insights.match.full, insights.match.partial, insights.match.none) == (2, 2, 1)
    assert insights.match.average_score == 58


def test_top_questions_merge_spellings_and_average_their_scores(insights) -> None:  # type: ignore[no-untyped-def]
    lines = [
        (group.text, group.count, group.wordings, group.average_score) for group in insights.top_questions
    ]
    assert lines == [
        ("What is her Python experience?", 2, 2, 75.0),
        ("Does she speak French?", 1, 1, 10.0),
        ("Has she led a team using Kubernetes?", 1, 1, 80.0),
        ("Is she a cat?", 1, 1, None),
    ]
    assert insights.distinct_questions == 5  # two spellings of the Python question, one group
    assert all(group.new for group in insights.top_questions)  # nothing was asked in the weeks before


def test_the_cv_is_missing_only_fair_questions_that_found_nothing(insights) -> None:  # type: ignore[no-untyped-def]
    """r3 (match none) is a gap; r4 (no response ever came) and r6 (an error) failed, they are no gaps."""
    assert insights.unanswered_total == 1
    assert [(group.text, group.count, group.closest) for group in insights.unanswered] == [
        ("Does she speak French?", 1, ()),
    ]
    assert (insights.totals.answered, insights.totals.missing, insights.totals.failed) == (3, 1, 2)
    assert insights.data_quality.errors == 1
    assert insights.data_quality.error_ids == ["r6"]
    assert insights.data_quality.orphan_ids == ["r4"]


def test_sources_origins_and_traffic_by_local_day(insights) -> None:  # type: ignore[no-untyped-def]
    assert insights.sources == [Ranked("Python", 2), Ranked("AWS", 1)]
    assert insights.countries == [Ranked("GB", 2), Ranked("DE", 1)]
    assert insights.referrers == [Ranked("www.linkedin.com", 2)]
    assert [day.day for day in insights.traffic] == [date(2026, 11, 16 + n) for n in range(7)]
    assert [day.requests for day in insights.traffic] == [2, 0, 1, 1, 0, 1, 1]
    assert [day.unanswered for day in insights.traffic] == [0, 0, 1, 0, 0, 0, 0]


def test_data_quality(insights) -> None:  # type: ignore[no-untyped-def]
    quality = insights.data_quality
    assert (quality.query_only, quality.response_only, quality.healed) == (1, 1, 1)
    assert quality.quarantined == 2
    assert quality.quarantine_reasons == [Ranked("$.timestamp: must be integer", 2)]
    assert (quality.dlq_depth, quality.pending) == (4, 2)


def test_an_empty_week_has_no_figures_to_divide_by() -> None:
    insights = insights_of([], previous_week())
    assert insights.empty
    assert insights.totals.answer_rate is None
    assert insights.latency is None
    assert insights.cache_hit_rate is None
    assert insights.match.average_score is None
    assert insights.requests_change.relative == -1.0
    assert insights.top_questions == []


def test_nothing_last_week_means_no_relative_change() -> None:
    assert insights_of(hand_counted_week()).requests_change.relative is None
    assert change(5, 0) is None


@pytest.mark.parametrize("size", [1, 2, 3, 10, 101, 1000, 4097])
def test_percentiles_agree_with_numpy(size: int) -> None:
    rng = random.Random(size)
    values = sorted(rng.lognormvariate(7, 1) for _ in range(size))
    for pct in (0, 1, 50, 90, 95, 99, 99.9, 100):
        assert percentile(values, pct) == pytest.approx(float(np.percentile(values, pct)), rel=1e-12)


def test_percentile_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)
    with pytest.raises(ValueError, match="outside 0 to 100"):
        percentile([1.0], 101)


def test_a_response_timed_before_its_query_counts_in_data_quality_not_in_speed() -> None:
    week = [
        Request("ok", "complete", at(0, 10), match_type="full", latency_ms=1000),
        Request("odd", "complete", at(0, 11), match_type="full", latency_ms=None, response_before_query=True),
        # Stored before the flag existed, or by another writer: the flag alone keeps it out of the figures.
        Request("old", "complete", at(0, 12), match_type="full", latency_ms=-86_400_000,
                response_before_query=True),
    ]  # fmt: skip
    insights = insights_of(week)
    assert insights.data_quality.response_before_query == 2
    assert insights.totals.requests == 3
    assert insights.latency is not None
    assert (insights.latency.count, insights.latency.minimum, insights.latency.maximum) == (1, 1000, 1000)
