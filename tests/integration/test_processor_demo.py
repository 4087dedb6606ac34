"""`./taskw demo` runs the processor's local pipeline and shows every kind of record it produces."""

from __future__ import annotations

import io
import os

import pytest
from rich.console import Console

from cv_analytics.local.processor_demo import LATE_RESPONSES, REQUESTS, run_demo

pytestmark = pytest.mark.integration


def test_the_demo_records_every_request_once_and_shows_the_tables() -> None:
    before = dict(os.environ)
    output = io.StringIO()
    summary = run_demo(Console(file=output, width=200))
    assert sum(summary["records"].values()) == REQUESTS
    assert set(summary["records"]) == {"complete", "query_only"}
    assert summary["healed"] == LATE_RESPONSES
    assert summary["quarantined"] == 3
    assert summary["dead_letters"] == 0
    text = output.getvalue()
    assert "Analytics: one record per request" in text
    assert "not valid JSON" in text
    assert dict(os.environ) == before
