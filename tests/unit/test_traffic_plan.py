"""The demo's traffic: repeatable for a seed, shaped as asked, inside its window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cv_analytics.local.traffic import Fate, plan_traffic

END = datetime(2026, 11, 23, tzinfo=UTC)


def test_the_same_seed_gives_the_same_plan_and_another_seed_another() -> None:
    assert plan_traffic(seed=7, end=END) == plan_traffic(seed=7, end=END)
    assert plan_traffic(seed=7, end=END) != plan_traffic(seed=8, end=END)


def test_the_default_plan_has_every_fate_the_demo_shows() -> None:
    plan = plan_traffic(seed=7, end=END)
    assert len(plan.requests) == 150
    assert len({request.session_id for request in plan.requests}) == 40
    for fate in Fate:
        assert plan.count(fate) > 0, fate
    assert any(request.duplicated for request in plan.requests)
    assert any("<script>" in request.question for request in plan.requests)


@settings(max_examples=50, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    sessions=st.integers(1, 20),
    extra=st.integers(0, 40),
    days=st.integers(1, 14),
)
def test_every_request_is_in_the_window_and_every_session_asks(
    seed: int, sessions: int, extra: int, days: int
) -> None:
    plan = plan_traffic(seed=seed, sessions=sessions, questions=sessions + extra, end=END, days=days)
    assert len(plan.requests) == sessions + extra
    assert len({request.session_id for request in plan.requests}) == sessions
    assert len({request.request_id for request in plan.requests}) == sessions + extra
    for request in plan.requests:
        assert END - timedelta(days=days + 1) <= request.asked_at < END + timedelta(days=1)
    assert list(plan.requests) == sorted(plan.requests, key=lambda request: request.asked_at)


def test_impossible_shapes_are_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="sessions <= questions"):
        plan_traffic(seed=1, sessions=10, questions=5, end=END)
    with pytest.raises(ValueError, match="timezone-aware"):
        plan_traffic(seed=1, end=datetime(2026, 11, 23))
