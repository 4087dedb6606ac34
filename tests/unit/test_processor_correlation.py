"""Correlation decisions: what a half leads to, and what an existing guard means."""

from __future__ import annotations

import pytest

from contract.tables import COMPLETE, CORRELATED, ORPHANED, PENDING, QUERY_ONLY, RESPONSE_ONLY
from processor.correlation import (
    GuardState,
    InterimState,
    Resolution,
    Settlement,
    Step,
    next_step,
    resolve,
    settlement,
)


def state(status: str, *, query: bool = False, response: bool = False) -> InterimState:
    return InterimState(
        "r", status, query_json="{}" if query else None, response_json="{}" if response else None
    )


def test_a_first_half_waits_for_the_other() -> None:
    assert next_step(state(PENDING, query=True), "query") is Step.WAIT
    assert next_step(state(PENDING, response=True), "response") is Step.WAIT


def test_both_halves_pending_complete_the_request_whichever_came_second() -> None:
    assert next_step(state(PENDING, query=True, response=True), "query") is Step.COMPLETE
    assert next_step(state(PENDING, query=True, response=True), "response") is Step.COMPLETE


def test_anything_after_correlation_is_a_duplicate() -> None:
    assert next_step(state(CORRELATED, query=True, response=True), "query") is Step.DUPLICATE
    assert next_step(state(CORRELATED, query=True), "response") is Step.DUPLICATE


def test_an_orphans_own_half_again_is_a_duplicate_and_its_missing_half_asks_the_guard() -> None:
    assert next_step(state(ORPHANED, query=True), "query") is Step.DUPLICATE
    assert next_step(state(ORPHANED, query=True), "response") is Step.RECONCILE
    assert next_step(state(ORPHANED, response=True), "query") is Step.RECONCILE


def test_an_unknown_status_is_an_error_not_a_guess() -> None:
    with pytest.raises(ValueError, match="unknown status"):
        next_step(state("weird", query=True), "query")


@pytest.mark.parametrize(
    "known", [frozenset({"query"}), frozenset({"response"}), frozenset({"query", "response"})]
)
def test_a_complete_guard_wins_over_any_halves(known: frozenset[str]) -> None:
    assert resolve(GuardState(COMPLETE, "DAY#x"), known) is Resolution.ALREADY_COMPLETE  # type: ignore[arg-type]


def test_an_orphan_guard_heals_only_when_its_missing_half_is_known() -> None:
    assert resolve(GuardState(QUERY_ONLY, "p"), frozenset({"query", "response"})) is Resolution.HEAL
    assert resolve(GuardState(QUERY_ONLY, "p"), frozenset({"response"})) is Resolution.HEAL
    assert resolve(GuardState(QUERY_ONLY, "p"), frozenset({"query"})) is Resolution.ALREADY_ORPHANED
    assert resolve(GuardState(RESPONSE_ONLY, "p"), frozenset({"query"})) is Resolution.HEAL
    assert resolve(GuardState(RESPONSE_ONLY, "p"), frozenset({"response"})) is Resolution.ALREADY_ORPHANED


def test_the_interim_item_settles_in_the_status_of_the_existing_record() -> None:
    complete = GuardState(COMPLETE, "DAY#a")
    assert settlement(Resolution.ALREADY_COMPLETE, complete, frozenset({"query"})) == Settlement(
        CORRELATED, "DAY#a"
    )
    orphan = GuardState(QUERY_ONLY, "DAY#b")
    assert settlement(Resolution.ALREADY_ORPHANED, orphan, frozenset({"query"})) == Settlement(
        ORPHANED, "DAY#b", expect_missing="response"
    )


def test_an_orphan_settles_only_while_its_missing_half_is_still_missing() -> None:
    orphan = GuardState(RESPONSE_ONLY, "DAY#c")
    assert settlement(Resolution.ALREADY_ORPHANED, orphan, frozenset({"response"})).expect_missing == "query"


def test_an_unknown_guard_correlation_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown correlation"):
        resolve(GuardState("weird", "p"), frozenset({"query"}))
