"""How the reporter reads one stored record."""

from __future__ import annotations

from typing import Any

from contract.tables import RequestRecord
from reporter.store import to_request


def record(**values: Any) -> RequestRecord:
    return RequestRecord(pk="DAY#2026-11-16", sk="REQUEST#r", request_id="r", correlation="complete",
                         day="2026-11-16", query_time=1763290800000, recorded_at=1, worker_total_ms=850.0,
                         **values)  # fmt: skip


def test_the_end_to_end_latency_wins_over_the_workers_own_timing() -> None:
    assert to_request(record(latency_ms=1200)).latency_ms == 1200
    assert to_request(record()).latency_ms == 850.0


def test_a_response_timed_before_its_query_has_no_latency_at_all() -> None:
    request = to_request(record(response_before_query=True))
    assert (request.latency_ms, request.response_before_query) == (None, True)
    assert to_request(record()).response_before_query is False
