"""`cv-analytics dev`: the demo's stack left running, for asking the bot by hand and watching what it records.

The Worker runs without its demo switches (questions are dated now); the processor consumes the queue in
the background and the orphan sweep runs every minute with the real settings, so a crashed request becomes
an orphan after ORPHAN_AFTER_SECONDS. Ctrl-C (or SIGTERM) stops everything.
"""

from __future__ import annotations

import json
import shlex
import threading
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from contract.config import load_settings
from cv_analytics.local.demo import functions_output, pinned, polling
from cv_analytics.local.event_source import EventSourceMapping, LocalLambdaContext
from cv_analytics.local.stack import LocalStack, running_stack
from processor.settings import ProcessorSettings
from reporter.period import ReportWeek
from reporter.settings import ReporterSettings

SWEEP_EVERY_SECONDS = 60


def endpoints(stack: LocalStack) -> Table:
    table = Table(title="cv-analytics dev stack", show_header=False, box=None, padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    table.add_row("chat (Worker)", stack.worker.chat_url)
    table.add_row("moto server", stack.server.endpoint_url)
    table.add_row("event queue", stack.queue.url)
    table.add_row("dead-letter queue", stack.queue.dead_letter_url)
    table.add_row(
        "tables", f"{stack.environment['QUERY_EVENTS_TABLE']}, {stack.environment['ANALYTICS_TABLE']}"
    )
    return table


def curl_line(stack: LocalStack) -> str:
    body = json.dumps({"question": "Has she led a team using Kubernetes?", "sessionId": "dev-session"})
    return f"curl -s {stack.worker.chat_url} -H 'content-type: application/json' -d {shlex.quote(body)}"


def report_line(stack: LocalStack) -> str:
    """The command that previews this week's email from the running stack's tables."""
    week = ReportWeek.containing(datetime.now(UTC), load_settings(ReporterSettings).zone)
    variables = " ".join(
        f"{name}={shlex.quote(stack.environment[name])}"
        for name in ("AWS_ENDPOINT_URL", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                     "QUERY_EVENTS_TABLE", "ANALYTICS_TABLE", "DLQ_URL")
    )  # fmt: skip
    return f"{variables} .venv/bin/cv-analytics report preview --week {week} --out out/dev-report.html"


def _sweep_periodically(stop: threading.Event) -> None:
    from processor import handler

    while not stop.wait(SWEEP_EVERY_SECONDS):
        handler.sweep({}, LocalLambdaContext("sweep", timeout_ms=60_000))


def run_dev(console: Console, log_dir: Path = Path("out/logs")) -> None:
    """Start the stack and keep it running until interrupted."""
    console = pinned(console)
    starting = console.status("Starting moto server, provisioning, starting the Worker")
    starting.start()
    try:
        with (
            functions_output(log_dir / "functions.log"),
            running_stack(log_dir=log_dir, demo_switches=False) as stack,
        ):
            starting.stop()
            from processor import handler

            handler.configure(load_settings(ProcessorSettings))
            mapping = EventSourceMapping(stack.sqs, stack.queue.url, handler.handle)
            stop = threading.Event()
            sweeper = threading.Thread(target=_sweep_periodically, args=(stop,), name="sweep", daemon=True)
            sweeper.start()
            with polling(mapping):
                console.print(endpoints(stack))
                console.print("\nAsk the bot a question:")
                console.print(curl_line(stack), soft_wrap=True, markup=False, highlight=False)
                console.print("\nPreview this week's email from these tables:")
                console.print(report_line(stack), soft_wrap=True, markup=False, highlight=False)
                console.print(f"\nLogs in {log_dir}/. Press Ctrl-C to stop everything.")
                try:
                    threading.Event().wait()
                finally:
                    stop.set()
    finally:
        starting.stop()
