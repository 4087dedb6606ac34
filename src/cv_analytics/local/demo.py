"""`cv-analytics demo`: a week of recruiter traffic through the whole local pipeline, then its email.

The story, in order: moto server starts and gets the queue, its DLQ, the tables and the SES identity the
infrastructure defines; the example Worker starts in workerd; a seeded plan of sessions and questions, dated
within the last full Monday-to-Sunday week in the report's time zone, is asked through the Worker's HTTP
endpoint (answered, no results, rejected, errors, and isolate crashes that leave only the question) while the
local event source feeds the queue to the processor; some events arrive twice and one malformed event is sent
straight to the queue; the orphan sweep records the crashed requests; the roll-up builds the week's days;
the reporter sends last week's email through SES, and the email as sent is written to `out/`.

The processor runs on a replay clock set to the last half hour of the replayed week, and SQS's time stamps
are moved onto it: what it stamps (a pending request's first-seen time) and what it reads from SQS (when a
malformed event was first received) fall in the week the report covers, as they would have on AWS. The
sweep then runs with the real settings (ORPHAN_AFTER_SECONDS 900):
after the queue is drained, every still-pending request was first seen days before the wall clock, so each
is due and recorded as an orphan. The roll-up runs on the wall clock too, as on AWS (its schedule sends no
input): a day is due once it has ended plus `contract.lateness.ROLLUP_DUE_AFTER_MS` (2 h 15 min), so every
day of the replayed week is due, except its Sunday when the demo runs on the Monday before 02:15 local time.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from contract.config import load_settings
from contract.lateness import ROLLUP_DUE_AFTER_MS
from cv_analytics.cost.measure import RunMeasurement, measuring
from cv_analytics.local.deploy import LocalDeployment
from cv_analytics.local.deployed import DeployedSchedule, schedules
from cv_analytics.local.event_source import EventSourceMapping, Handler, PollStats
from cv_analytics.local.outbox import part, sent_messages
from cv_analytics.local.pipeline import deployed_event_source, fire_schedule
from cv_analytics.local.replay import Duplicator, replay, send_malformed
from cv_analytics.local.scheduler import next_fire
from cv_analytics.local.stack import LocalStack, running_stack
from cv_analytics.local.traffic import Fate, TrafficPlan, plan_traffic
from cv_analytics.local.twin import Twin
from reporter.period import ReportWeek
from reporter.settings import ReporterSettings
from reporter.store import AnalyticsReader

REPLAY_ENDS_BEFORE_WEEK_END_MS = 30 * 60 * 1000


@dataclass(frozen=True)
class DemoOptions:
    seed: int = 7
    sessions: int = 40
    questions: int = 150
    out_dir: Path = Path("out")
    now: datetime | None = None  # the wall clock's "now"; the report covers the week before it
    # Run on this twin and deployment instead of a twin of the demo's own (the tests share one).
    twin: Twin | None = None
    deployment: LocalDeployment | None = None
    # False: `deployment` is already applied to `twin`; read its outputs instead of applying it again.
    apply: bool = True


@dataclass
class DemoResult:
    week: str
    plan: TrafficPlan
    statuses: Counter[int]
    duplicated_events: int
    malformed_sent: int
    quarantined: int
    event_source: PollStats
    swept: dict[str, int]
    rolled_up: Any  # what the roll-up answered
    days_due: int  # how many of the week's days were due when the roll-up ran
    report: dict[str, Any]
    dead_letters: int
    recipients: str
    html_path: Path
    text_path: Path
    seconds: float = 0.0
    # What the run asked of AWS, from the first question to the email (see `cv_analytics.cost`).
    measurement: RunMeasurement | None = None
    email_text: str = field(default="", repr=False)
    email_html: str = field(default="", repr=False)


def report_week(now: datetime | None) -> ReportWeek:
    """The week the reporter reports on by default: the last full Monday-to-Sunday week before now."""
    zone: ZoneInfo = load_settings(ReporterSettings, {}).zone
    return ReportWeek.previous_to(now or datetime.now(UTC), zone)


SQS_TIME_ATTRIBUTES = ("SentTimestamp", "ApproximateFirstReceiveTimestamp")


def on_replay_clock(function: Handler, shift_ms: int) -> Handler:
    """`function` with SQS's own time stamps moved by `shift_ms` onto the replay clock.

    SQS stamps a message with the wall clock, and the processor keys a quarantined message by its first
    receipt: shifted, a malformed event lands in the replayed week as it would have on AWS.
    """

    def shifted(event: dict[str, Any], context: Any) -> Mapping[str, Any] | None:
        for record in event.get("Records", []):
            attributes = record.get("attributes", {})
            for name in SQS_TIME_ATTRIBUTES:
                if name in attributes:
                    attributes[name] = str(int(attributes[name]) + shift_ms)
        return function(event, context)

    return shifted


@contextmanager
def polling(mapping: EventSourceMapping) -> Iterator[Callable[[], None]]:
    """The event source polls in the background while the block sends, so the queue stays shallow.

    Yields a check that raises what stopped the poller, if it stopped: a sender waiting for the queue to
    drain must not wait for a poller that died (a refused DeleteMessage, say).
    """
    stop = threading.Event()
    failures: list[BaseException] = []

    def run() -> None:
        try:
            mapping.run(stop)
        except BaseException as error:
            failures.append(error)
            raise

    def check() -> None:
        if failures:
            raise RuntimeError(f"the event source stopped: {failures[0]}") from failures[0]

    poller = threading.Thread(target=run, name="event-source", daemon=True)
    poller.start()
    try:
        yield check
    finally:
        stop.set()
        poller.join()


@contextmanager
def functions_output(log: Path) -> Iterator[None]:
    """The functions' logs and EMF metrics go to `log`, as they would to CloudWatch, not over the progress."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", encoding="utf-8") as sink, redirect_stdout(sink):
        yield


def pinned(console: Console) -> Console:
    """A console that keeps writing where `console` writes now, whatever sys.stdout becomes later."""
    return Console(file=console.file, width=console.width, force_terminal=console.is_terminal)


def _progress(console: Console) -> Progress:
    return Progress(
        SpinnerColumn(finished_text="[green]\u2713[/]"),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        redirect_stdout=False,
        redirect_stderr=False,
    )


@contextmanager
def _step(progress: Progress, description: str) -> Iterator[None]:
    task = progress.add_task(description, total=1)
    yield
    progress.update(task, completed=1)


def _schedule(stack: LocalStack, kind: str) -> DeployedSchedule:
    """The schedule Terraform created for `kind` (sweep, rollup or weekly-report)."""
    name = f"{stack.environment.name_prefix}-{kind}"
    found = [s for s in schedules(stack.twin.client("scheduler")) if s.name == name]
    if not found:
        raise RuntimeError(f"no schedule {name} on the local AWS: was the stack applied?")
    return found[0]


def _process(stack: LocalStack, week: ReportWeek, plan: TrafficPlan, progress: Progress) -> dict[str, Any]:
    """Ask the plan's questions through the Worker while the deployed event source feeds the processor;
    then one run of the deployed sweep schedule."""
    publisher = stack.publisher_sqs()
    offset = (week.end_ms - REPLAY_ENDS_BEFORE_WEEK_END_MS) - wall_ms()
    duplicated = frozenset(request.request_id for request in plan.requests if request.duplicated)
    holder: list[Duplicator] = []

    def wrap(function: Handler) -> Handler:
        holder.append(
            Duplicator(publisher, stack.outputs.queue_url, on_replay_clock(function, offset), duplicated)
        )
        return holder[0]

    with deployed_event_source(
        stack.twin,
        stack.outputs.queue_arn,
        cache=stack.code_cache,
        log_dir=stack.log_dir,
        clock_offset_ms=offset,
        wrap=wrap,
    ) as (mapping, _):
        asking = progress.add_task("Recruiters ask through the Worker", total=len(plan.requests))
        answered = [0]

        def on_answer(*_: object) -> None:
            answered[0] += 1
            progress.advance(asking)

        with polling(mapping) as alive:

            def ready() -> bool:
                alive()
                return mapping.keeps_up(2 * answered[0], backlog=60)

            send_malformed(publisher, stack.outputs.queue_url)
            statuses = replay(stack.worker.chat_url, plan.requests, ready=ready, on_answer=on_answer)
            alive()
        with _step(progress, "The event source drains the queue"):
            mapping.drain(timeout=60)
    with _step(progress, "The sweep schedule runs once: crashed requests become orphans"):
        swept = fire_schedule(
            stack.twin,
            _schedule(stack, "sweep"),
            datetime.now(UTC),
            cache=stack.code_cache,
            log_dir=stack.log_dir,
        )
    return {"statuses": statuses, "stats": mapping.stats, "swept": swept, "copies": len(holder[0].copied)}


def days_due(week: ReportWeek, now_ms: int) -> int:
    """How many of the week's local days a roll-up running at `now_ms` may build: those that ended at least
    ROLLUP_DUE_AFTER_MS before it."""
    ends = [*week.day_bounds_ms(), week.end_ms]
    return sum(1 for end in ends if end + ROLLUP_DUE_AFTER_MS <= now_ms)


def _roll_up(stack: LocalStack, week: ReportWeek, progress: Progress) -> tuple[Any, int]:
    """One run of the deployed roll-up schedule after the traffic was processed and swept, before the report;
    what the roll-up answered and how many of the week's days were due."""
    now = datetime.now(UTC)
    due = days_due(week, int(now.timestamp() * 1000))
    with _step(progress, f"The roll-up schedule runs once: {due} of the week's 7 days are due"):
        answer = fire_schedule(
            stack.twin, _schedule(stack, "rollup"), now, cache=stack.code_cache, log_dir=stack.log_dir
        )
    return answer, due


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


STEPS = {
    "synth": "Synthesize the local stacks",
    "state": "terraform apply state-local until the state bucket exists",
    "infra": "terraform apply infra-local (queues, tables, alarms, publisher), state-local beside it",
    "processor and reporter": "terraform apply processor-local and reporter-local",
    "worker": "Start the example Worker with the edge publisher's key",
}


def run_demo(options: DemoOptions, console: Console) -> DemoResult:
    """Run the whole pipeline once (see the module docstring); returns what happened, with the email."""
    started = time.monotonic()
    week = report_week(options.now)
    plan = plan_traffic(
        seed=options.seed, sessions=options.sessions, questions=options.questions, end=week.end, days=7
    )
    out_dir = options.out_dir.resolve()  # Terraform runs in the stacks' folders: every path absolute
    logs = out_dir / "logs"
    work = out_dir / "demo-twin"
    if options.twin is None:
        shutil.rmtree(work, ignore_errors=True)
    with _progress(pinned(console)) as progress, functions_output(logs / "functions.log"):
        current: list[TaskID] = [progress.add_task("Start the local AWS twin (TLS, IAM on)", total=1)]

        def on_step(step: str) -> None:
            progress.update(current[0], completed=1)
            current[0] = progress.add_task(STEPS[step], total=1)

        with running_stack(
            log_dir=logs,
            deployment=options.deployment or LocalDeployment.under(work),
            twin_folder=work / "twin",
            on_step=on_step,
            twin=options.twin,
            apply=options.apply,
        ) as stack:
            progress.update(current[0], completed=1)
            kept = [stack.outputs.analytics_table]  # interim items expire within a day
            with measuring(stack.twin, stack.log_dir, kept) as finish:
                processed = _process(stack, week, plan, progress)
                rolled_up, due = _roll_up(stack, week, progress)
                with _step(progress, f"The weekly schedule fires the reporter for {week}"):
                    scheduled = next_fire(
                        (weekly := _schedule(stack, "weekly-report")).expression, weekly.timezone, week.end
                    )
                    report = fire_schedule(
                        stack.twin, weekly, scheduled, cache=stack.code_cache, log_dir=stack.log_dir
                    )
                measurement = finish(len(plan.requests))
            email = sent_messages(stack.twin.endpoint_url, str(stack.twin.tls.ca_certificate))[-1]
            quarantined = _quarantined(stack, week)
            dead = stack.twin.client("sqs").get_queue_attributes(
                QueueUrl=stack.outputs.dlq_url, AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]["ApproximateNumberOfMessages"]
    html, text = part(email, "text/html"), part(email, "text/plain")
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path, text_path = out_dir / "weekly-report.html", out_dir / "weekly-report.txt"
    html_path.write_text(html, encoding="utf-8")
    text_path.write_text(text, encoding="utf-8")
    return DemoResult(
        week=str(week),
        plan=plan,
        statuses=processed["statuses"],
        duplicated_events=processed["copies"],
        malformed_sent=1,
        quarantined=quarantined,
        event_source=processed["stats"],
        swept=processed["swept"],
        rolled_up=rolled_up,
        days_due=due,
        report=report,
        dead_letters=int(dead),
        recipients=stack.recipients,
        html_path=html_path,
        text_path=text_path,
        seconds=time.monotonic() - started,
        measurement=measurement,
        email_text=text,
        email_html=html,
    )


def _quarantined(stack: LocalStack, week: ReportWeek) -> int:
    """Counted from the table, not from what was sent: what the processor recorded."""
    settings = load_settings(
        ReporterSettings,
        {
            **stack.twin.environment(),
            "QUERY_EVENTS_TABLE": stack.outputs.query_events_table,
            "ANALYTICS_TABLE": stack.outputs.analytics_table,
            "DLQ_URL": stack.outputs.dlq_url,
        },
    )
    with twin_environment(stack.twin):
        return len(AnalyticsReader(settings).quarantined(week.utc_days()))


@contextmanager
def twin_environment(twin: Twin) -> Iterator[None]:
    """This process's boto3 and PynamoDB pointed at the twin as its administrator, for the block only."""
    saved = dict(os.environ)
    os.environ.update(twin.environment())
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def summary_table(result: DemoResult) -> Table:
    """What the demo did, in a few lines: what was sent, what was recorded, what was written."""
    plan = result.plan
    table = Table(title=f"cv-analytics demo: week {result.week}", show_header=False, box=None, padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    fates = ", ".join(f"{plan.count(fate)} {fate.value}" for fate in Fate)
    table.add_row("questions asked", f"{len(plan.requests)} in {plan.sessions} sessions ({fates})")
    statuses = ", ".join(f"{count}\u00d7{status}" for status, count in sorted(result.statuses.items()))
    table.add_row("HTTP answers", statuses)
    table.add_row(
        "queue",
        f"{result.event_source.received} deliveries in {result.event_source.batches} batches, "
        f"{result.duplicated_events} duplicate events, {result.malformed_sent} malformed event sent, "
        f"{result.quarantined} quarantined, {result.dead_letters} in the DLQ",
    )
    table.add_row("orphan sweep", f"{result.swept.get('orphaned', 0)} orphans recorded")
    rolled = result.rolled_up if isinstance(result.rolled_up, dict) else {}
    table.add_row(
        "roll-up",
        f"{result.days_due} of the week's 7 days due; built {len(rolled.get('built', []))} day rollups from "
        f"{rolled.get('requests', 0)} records; of {rolled.get('flagged', 0)} records flagged late, "
        f"{rolled.get('cleared', 0)} counted and unflagged; {rolled.get('remaining', 0)} days left for the "
        "next run",
    )
    table.add_row("email", f"{result.report.get('subject')} to {result.recipients}")
    table.add_row("SES message id", str(result.report.get("message_id")))
    table.add_row("HTML", str(result.html_path))
    table.add_row("text", str(result.text_path))
    table.add_row("took", f"{result.seconds:.1f} s")
    return table
