"""The redrive's decisions that need no queue: what waits for SQS's deduplication window, what is poison."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from cv_analytics.redrive import DEDUPLICATION_WINDOW_SECONDS, DeadLetter, Survey, hold_back_seconds

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
QUERY = {"eventType": "query", "requestId": "r-1", "timestamp": 1764154800123, "query": "Notice period?"}


def letter(body: str, sent_ago_seconds: float, group: str = "s-1") -> DeadLetter:
    return DeadLetter("m", "h", body, group, "r-1:query", NOW - timedelta(seconds=sent_ago_seconds), 5)


def test_a_message_first_sent_under_five_minutes_ago_waits_for_the_rest_of_the_window() -> None:
    assert DEDUPLICATION_WINDOW_SECONDS == 300
    assert hold_back_seconds(letter("{}", 120), NOW) == 180
    assert hold_back_seconds(letter("{}", 300), NOW) == 0
    assert hold_back_seconds(letter("{}", 86400), NOW) == 0


def test_the_survey_sets_apart_what_the_processor_would_quarantine() -> None:
    good = letter(json.dumps(QUERY), 600)
    bad = letter(json.dumps({**QUERY, "timestamp": "yesterday"}), 900, group="s-2")
    broken = letter("not json {", 60, group="s-2")
    found = Survey(3, [good, bad, broken])
    assert found.oldest is bad
    assert found.groups == {"s-1": 1, "s-2": 2}
    assert [(m.body, problem.split(":")[0]) for m, problem in found.quarantine_worthy] == [
        (bad.body, "$.timestamp"),
        ("not json {", "$"),
    ]
