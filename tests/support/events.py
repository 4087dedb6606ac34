"""Canned events from tests/events: exactly what the existing Worker sends today (see DESIGN.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).parent.parent / "events"


def worker_today_sqs_event() -> dict[str, Any]:
    """A Lambda SQS event carrying the existing Worker's messages: group `analytics`, old dedup ids."""
    event: dict[str, Any] = json.loads((EVENTS / "worker-today-sqs-event.json").read_text())
    return event


def worker_today_events() -> list[dict[str, Any]]:
    """The same events as plain JSON objects, in the order the Worker sent them."""
    lines = (EVENTS / "worker-today-events.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line]
