"""`cv-analytics dev`: the local environment deployed on the twin and left running, to ask the bot by hand.

It starts the twin `./taskw twin-up` starts (or uses the one already running), applies the local stacks
with the project's Terraform path, starts the example Worker (without its demo switches: questions are
dated now) and runs the deployed event source and schedules: the processor consumes the queue in the
background, and the sweep and roll-up schedules fire at their own rates. Ctrl-C (or SIGTERM) stops the
Worker and the functions; the twin stays up, so `./taskw plan ENV=local` and `./taskw twin-status` work
against what was deployed, and `./taskw twin-down` stops it.
"""

from __future__ import annotations

import json
import shlex
import threading
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from cv_analytics.local.demo import _schedule, functions_output, pinned, polling
from cv_analytics.local.deploy import LocalDeployment
from cv_analytics.local.pipeline import deployed_event_source, fire_schedule
from cv_analytics.local.scheduler import next_fire
from cv_analytics.local.stack import LocalStack, running_stack
from terraform.environment import OUTDIR
from terraform.stacks.state import BOOTSTRAP_STATE_DIR


def endpoints(stack: LocalStack) -> Table:
    table = Table(title="cv-analytics dev stack (ENV=local)", show_header=False, box=None, padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    table.add_row("chat (Worker)", stack.worker.chat_url)
    table.add_row("local AWS", stack.twin.endpoint_url)
    table.add_row("event queue", stack.outputs.queue_url)
    table.add_row("dead-letter queue", stack.outputs.dlq_url)
    table.add_row("tables", f"{stack.outputs.query_events_table}, {stack.outputs.analytics_table}")
    return table


def curl_line(stack: LocalStack) -> str:
    body = json.dumps({"question": "Has she led a team using Kubernetes?", "sessionId": "dev-session"})
    return f"curl -s {stack.worker.chat_url} -H 'content-type: application/json' -d {shlex.quote(body)}"


def plan_line() -> str:
    """How to see what Terraform would change on the running twin."""
    return "./taskw plan ENV=local        # or STACK=infra|processor|reporter|state; ./taskw twin-status"


# The deployed schedules fired at their own rates; the weekly report is left to `cv-analytics report`.
RECURRING_SCHEDULES = ("sweep", "rollup")


def _fire_at_its_rate(stack: LocalStack, kind: str, stop: threading.Event) -> None:
    """The deployed schedule of `kind`, fired at its own rate until `stop`."""
    schedule = _schedule(stack, kind)
    due = next_fire(schedule.expression, schedule.timezone, datetime.now(UTC))
    while not stop.wait(max(0.0, (due - datetime.now(UTC)).total_seconds())):
        fire_schedule(stack.twin, schedule, due, cache=stack.code_cache, log_dir=stack.log_dir)
        due = next_fire(schedule.expression, schedule.timezone, due)


def run_dev(console: Console, log_dir: Path = Path("out/logs")) -> None:
    """Deploy and keep the stack running until interrupted."""
    console = pinned(console)
    starting = console.status(
        "Starting the local AWS twin and applying the local stacks (about a minute or two)"
    )
    starting.start()
    deployment = LocalDeployment(OUTDIR, BOOTSTRAP_STATE_DIR)
    try:
        with (
            functions_output(log_dir / "functions.log"),
            running_stack(
                log_dir=log_dir, deployment=deployment, twin_folder=None, demo_switches=False
            ) as stack,
            deployed_event_source(
                stack.twin, stack.outputs.queue_arn, cache=stack.code_cache, log_dir=log_dir
            ) as (mapping, _),
        ):
            starting.stop()
            stop = threading.Event()
            for kind in RECURRING_SCHEDULES:
                threading.Thread(
                    target=_fire_at_its_rate, args=(stack, kind, stop), name=kind, daemon=True
                ).start()
            with polling(mapping):
                console.print(endpoints(stack))
                console.print("\nAsk the bot a question:")
                console.print(curl_line(stack), soft_wrap=True, markup=False, highlight=False)
                console.print("\nSee what Terraform would change on this twin (it stays up after Ctrl-C):")
                console.print(plan_line(), soft_wrap=True, markup=False, highlight=False)
                console.print(f"\nLogs in {log_dir}/. Press Ctrl-C to stop the Worker and the functions.")
                try:
                    threading.Event().wait()
                finally:
                    stop.set()
    finally:
        starting.stop()
