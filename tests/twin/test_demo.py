"""`./taskw demo` end to end at a smaller scale: what the email says is what was sent through the Worker.

Runs the real stack on the shared twin (the demo's apply finds it up to date): the example Worker in
workerd sending with the edge publisher's key, the processor version behind the deployed event source
mapping, the deployed sweep and weekly schedules; then reads the email the twin's SES accepted.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console

from cv_analytics.cost.measure import EDGE
from cv_analytics.local.demo import DemoOptions, DemoResult, run_demo
from cv_analytics.local.replay import EXPECTED_STATUS
from cv_analytics.local.traffic import HTML_INJECTION, Fate
from cv_analytics.local.worker import LAUNCHER
from tests.twin.conftest import AppliedTwin

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)  # a Thursday: the report covers 2026-W47
SEED, SESSIONS, QUESTIONS = 9, 6, 30  # a seed whose small plan has every fate and duplicates


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, applied: AppliedTwin) -> DemoResult:
    before = dict(os.environ)
    out = tmp_path_factory.mktemp("demo")
    options = DemoOptions(
        seed=SEED,
        sessions=SESSIONS,
        questions=QUESTIONS,
        out_dir=out,
        now=NOW,
        twin=applied.twin,
        deployment=applied.deployment,
        apply=False,  # the session's apply from nothing made it; the twin tests check it plans clean
    )
    result = run_demo(options, Console(file=io.StringIO(), width=120))
    assert dict(os.environ) == before
    return result


def _launchers() -> list[str]:
    """Command lines of running Worker launchers of this checkout (workerd is stopped with its launcher)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if str(LAUNCHER) in command:
                found.append(command)
    return found


def test_the_emails_numbers_are_what_was_sent(demo: DemoResult) -> None:
    plan = demo.plan
    assert all(plan.count(fate) for fate in Fate)
    text = demo.email_text
    assert demo.week == "2026-W47"
    assert f"Questions: {len(plan.requests)}," in text
    assert f"Sessions: {plan.sessions}\n" in text
    assert f"Answered: {plan.count(Fate.ANSWERED)} of " in text
    assert f"Failed, a question without a recorded answer: {plan.count(Fate.CRASH)} (" in text  # the orphans
    assert "Malformed events set aside: 1 " in text
    assert "Messages in the dead-letter queue: 0\n" in text
    assert "Requests still waiting for their other half: 0\n" in text
    assert demo.swept["orphaned"] == plan.count(Fate.CRASH)
    assert demo.report["status"] == "sent"
    assert demo.report["message_id"]


def test_every_request_took_the_path_its_plan_says(demo: DemoResult) -> None:
    expected: dict[int, int] = {}
    for request in demo.plan.requests:
        status = EXPECTED_STATUS[request.fate]
        expected[status] = expected.get(status, 0) + 1
    assert dict(demo.statuses) == expected
    duplicated = [request for request in demo.plan.requests if request.duplicated]
    assert duplicated
    # A crashed request only ever sent its query; every other request sent both halves.
    assert demo.duplicated_events == sum(1 if r.fate is Fate.CRASH else 2 for r in duplicated)
    assert demo.dead_letters == 0


def test_what_the_cv_is_missing_lists_the_unanswerable_questions_only(demo: DemoResult) -> None:
    missing = demo.plan.count(Fate.NO_RESULTS)
    section = demo.email_text.split("WHAT THE CV IS MISSING")[1].split("MOST ASKED QUESTIONS")[0]
    assert section.startswith(f" ({missing} of ")
    counts = [
        int(line.split(" - ")[-1].split("x,")[0]) for line in section.splitlines() if line.startswith("  - ")
    ]
    assert sum(counts) == missing  # every unanswerable question, each group once, nothing else
    for request in demo.plan.requests:
        if request.fate in (Fate.REJECTED, Fate.ERROR):
            assert request.question.strip().lower() not in section.lower()


def test_a_question_with_html_in_it_is_shown_as_text(demo: DemoResult) -> None:
    assert HTML_INJECTION in demo.email_text
    assert "&lt;script&gt;alert(" in demo.email_html
    assert "<script>" not in demo.email_html
    assert demo.html_path.read_text(encoding="utf-8") == demo.email_html
    assert demo.text_path.read_text(encoding="utf-8") == demo.email_text


def test_the_cost_measurement_counts_what_the_run_asked_of_aws(demo: DemoResult) -> None:
    """`cv-analytics cost` prices this: every invocation, request and unit, each with its caller."""
    run = demo.measurement
    assert run is not None and run.questions == len(demo.plan.requests)
    processor, sweep, reporter, rollup = (
        f"cv-analytics-local-{part}" for part in ("processor", "sweep", "reporter", "rollup")
    )
    invoked = Counter(invocation.function for invocation in run.invocations)
    assert invoked == {processor: demo.event_source.batches, sweep: 1, reporter: 1, rollup: 1}
    actions = Counter((named.caller, named.request.action) for named in run.requests)
    # The Worker's sends, the copies a retrying sender made and the malformed event: all the edge's key.
    edge_sends = actions[(EDGE, "SendMessage")]
    assert edge_sends >= len(demo.plan.requests) + demo.duplicated_events + demo.malformed_sent
    assert {caller for caller, _ in actions if caller == EDGE} == {EDGE}
    assert not [a for (caller, a) in actions if caller == EDGE and a != "SendMessage"]
    assert actions[(f"{processor}-event-source", "ReceiveMessage")] >= demo.event_source.batches
    assert actions[(reporter, "SendRawEmail")] == 1
    writes = [
        n.request for n in run.requests if n.request.action == "TransactWriteItems" and n.caller == processor
    ]
    # Guard, record and interim item, each billed twice; an item that waited leaves the pending index.
    recorded = [w for w in writes if w.status == 200]
    assert recorded and all(w.write_units >= 6 for w in recorded)
    assert any(w.index_write_units >= 1 for w in recorded)
    assert run.log_bytes[processor] > 0 and run.stored_bytes > 0 and run.alarms > 0


def test_nothing_the_demo_started_is_left_running(demo: DemoResult) -> None:
    assert _launchers() == []


def _descendants(pid: int) -> set[int]:
    children: dict[int, set[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, set()).add(int(entry.name))
    found: set[int] = set()
    pending = [pid]
    while pending:
        for child in children.get(pending.pop(), set()):
            found.add(child)
            pending.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_ctrl_c_during_the_apply_stops_terraform_and_the_twin(tmp_path: Path) -> None:
    """Ctrl-C as a terminal sends it, to the demo's whole process group, while Terraform applies."""
    command = [str(Path(sys.executable).with_name("cv-analytics")), "demo", "--out", str(tmp_path)]
    demo = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 120
        started: set[int] = set()
        while time.monotonic() < deadline:
            started = _descendants(demo.pid)
            if any(b"terraform" in _command(pid) and b"apply" in _command(pid) for pid in started):
                break
            time.sleep(0.2)
        assert any(b"cv_analytics.local.twin" in _command(pid) for pid in started), "the twin never started"
        assert any(b"terraform" in _command(pid) for pid in started), "Terraform never started"
        os.killpg(demo.pid, signal.SIGINT)
        _, errors = demo.communicate(timeout=60)
    finally:
        demo.kill()
    assert demo.returncode == 130
    assert "Interrupted" in errors
    assert [pid for pid in started if _alive(pid)] == []


def _command(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""
