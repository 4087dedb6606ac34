"""`python -m cv_analytics.operations ...`: what the owner runs on a deployed environment when an alarm or a
routine asks (the `./taskw` tasks below call it from the repository root, where `terraform` imports).

- `redrive`: replay the dead-letter queue once the cause of the failures is fixed (`cv_analytics.redrive`).
- `arm-silent-alarm`: let the silent-Worker alarm page once the Worker has sent (`cv_analytics.silent_alarm`).
- `rotate-edge-key`: give the Worker a new publisher key and retire the old one (`cv_analytics.edge_key`).

Each command takes `--env` (dev, prod, local) and reaches that environment's account the way the deploy
tasks do (`terraform.run.aws_client`: AWS credentials, or the twin's administrator for `local`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from contract.resources import queue_with_dlq
from cv_analytics import edge_key, silent_alarm
from cv_analytics import redrive as dlq
from terraform.environment import Environment
from terraform.stacks.infra import publisher_name, silent_alarm_name

app = typer.Typer(
    help="Operate a deployed environment: redrive the DLQ, arm the silent alarm, rotate the edge key.",
    no_args_is_help=True,
)
console = Console()
errors = Console(stderr=True)


@app.callback()
def operations() -> None:
    """One subcommand per operation, each on the environment `--env` names."""


EnvOption = Annotated[str, typer.Option("--env", help="the environment: dev, prod or local")]


def _environment(name: str) -> Environment:
    from terraform.environment_schema import EnvironmentFileError

    try:
        return Environment.load(name)
    except (EnvironmentFileError, FileNotFoundError) as error:
        errors.print(f"[bold red]error:[/] {escape(str(error))}", soft_wrap=True)
        raise typer.Exit(1) from error


def _client(env: Environment, service: str) -> Any:
    from terraform.run import aws_client

    return aws_client(env, service)


def _queue_urls(env: Environment, sqs: Any) -> tuple[str, str]:
    spec = queue_with_dlq(
        env.name_prefix,
        max_receive_count=env.max_receive_count,
        consumer_timeout_seconds=env.processor.timeout_seconds,
    )
    urls = (sqs.get_queue_url(QueueName=q.name)["QueueUrl"] for q in (spec.queue, spec.dead_letter))
    queue, dead_letter = urls
    return queue, dead_letter


def _age(then: datetime, now: datetime) -> str:
    minutes = int((now - then).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    return f"{days} d {hours} h" if days else f"{hours} h {minutes} min"


def survey_table(found: dlq.Survey, dlq_name: str, now: datetime) -> Table:
    """What the DLQ holds, as the owner reads it before agreeing to the move."""
    table = Table(title=f"{dlq_name}: {found.approximate_count} message(s)", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    if found.approximate_count > len(found.seen):
        table.add_row("looked at", f"{len(found.seen)} (a FIFO queue shows ten of a group at a time)")
    oldest = found.oldest
    if oldest is not None:
        table.add_row("oldest", f"{oldest.sent_at:%Y-%m-%d %H:%M:%S} UTC ({_age(oldest.sent_at, now)} ago)")
    for group, count in found.groups.most_common(10):
        table.add_row("group", f"{escape(group)}: {count}")
    if len(found.groups) > 10:
        table.add_row("", f"... and {len(found.groups) - 10} more groups")
    worthy = found.quarantine_worthy
    table.add_row(
        "to quarantine", f"{len(worthy)} (the processor will quarantine them again, not record them)"
    )
    for message, problem in worthy[:10]:
        table.add_row("", f"{message.message_id} ({escape(message.group_id)}): {escape(problem)}")
    return table


@app.command()
def redrive(
    env: EnvOption,
    yes: Annotated[bool, typer.Option("--yes", help="move without asking")] = False,
) -> None:
    """Show what the dead-letter queue holds, then move it back to the event queue, message by message."""
    environment = _environment(env)
    try:
        sqs = _client(environment, "sqs")
        queue_url, dlq_url = _queue_urls(environment, sqs)
        found = dlq.survey(sqs, dlq_url)
        if found.approximate_count == 0 and not found.seen:
            console.print(f"{dlq_url.rsplit('/', 1)[1]} is empty: nothing to redrive.")
            return
        console.print(survey_table(found, dlq_url.rsplit("/", 1)[1], datetime.now(UTC)))
        if not yes and not typer.confirm(f"Move them back to {queue_url.rsplit('/', 1)[1]}?"):
            console.print("Nothing moved.")
            raise typer.Exit(1)
        moved = dlq.redrive(
            sqs,
            dlq_url,
            queue_url,
            on_moved=lambda m: console.print(f"moved {m.message_id} ({escape(m.group_id)})"),
            on_wait=lambda m, s: console.print(
                f"waiting {s:.0f} s: {m.message_id} was first sent under 5 minutes ago and SQS would drop "
                "its deduplication id as a duplicate"
            ),
        )
    except (ClientError, BotoCoreError) as error:
        errors.print(f"[bold red]error:[/] {escape(str(error))}; what was not moved is still in the DLQ")
        raise typer.Exit(1) from error
    console.print(f"{len(moved.moved)} message(s) moved back; the DLQ keeps what was not.")


@app.command("arm-silent-alarm")
def arm_silent_alarm(env: EnvOption) -> None:
    """Enable the silent-Worker alarm's actions, once an edge publisher key has been used to send."""
    environment = _environment(env)
    alarm, user = silent_alarm_name(environment), publisher_name(environment)
    try:
        sent = silent_alarm.arm(
            _client(environment, "iam"), _client(environment, "cloudwatch"), user=user, alarm=alarm
        )
    except (ClientError, BotoCoreError) as error:
        errors.print(f"[bold red]error:[/] {escape(str(error))}")
        raise typer.Exit(1) from error
    if sent is None:
        errors.print(
            f"[bold red]error:[/] no access key of {user} has sent to SQS yet, so {alarm} stays off "
            "(it would page about a Worker that never started); hand the Worker its key, ask the bot "
            "a question, then run this again"
        )
        raise typer.Exit(1)
    console.print(f"{alarm}: actions enabled (the Worker last sent at {sent:%Y-%m-%d %H:%M} UTC)")


def _say(line: str) -> None:
    """Printed as it is: a key's JSON must come out unwrapped and unstyled, to be pasted."""
    console.print(line, soft_wrap=True, markup=False, highlight=False)


def _accepted(env: Environment, key: edge_key.AccessKey) -> bool:
    """Whether AWS takes `key`: STS GetCallerIdentity needs no permission, only a valid key."""
    if env.local_aws is not None:
        from cv_analytics.local.twin import Credentials
        from terraform.run import local_twin

        sts = local_twin(env).client("sts", Credentials(key.access_key_id, key.secret_access_key))
    else:
        import boto3

        sts = boto3.client(
            "sts",
            region_name=env.region,
            aws_access_key_id=key.access_key_id,
            aws_secret_access_key=key.secret_access_key,
        )
    try:
        sts.get_caller_identity()
    except ClientError:
        return False
    return True


@app.command("rotate-edge-key")
def rotate_edge_key(
    env: EnvOption,
    worker_dir: Annotated[Path, typer.Option("--worker-dir", help="the Worker's folder (wrangler's)")],
    yes: Annotated[bool, typer.Option("--yes", help="run wrangler without asking")] = False,
    send_timeout: Annotated[
        int, typer.Option("--send-timeout", help="seconds to wait for the Worker's send with the new key")
    ] = edge_key.SEND_TIMEOUT_SECONDS,
) -> None:
    """Create a second publisher key, hand it to the Worker, wait for its send, then delete the old key."""
    environment = _environment(env)
    if not worker_dir.is_dir():
        errors.print(f"[bold red]error:[/] WORKER_DIR {worker_dir} is not a folder: give the Worker's folder")
        raise typer.Exit(1)
    user = publisher_name(environment)
    hand_over = edge_key.WranglerHandOver(
        worker_dir.resolve(), confirm=lambda q: yes or typer.confirm(q), say=_say
    )
    try:
        rotated = edge_key.rotate(
            _client(environment, "iam"),
            user=user,
            accepted=lambda key: _accepted(environment, key),
            hand_over=hand_over,
            say=_say,
            send_timeout=send_timeout,
        )
    except edge_key.RotationError as error:
        errors.print(f"[bold red]error:[/] {escape(str(error))}")
        raise typer.Exit(1) from error
    except (ClientError, BotoCoreError) as error:
        errors.print(f"[bold red]error:[/] {escape(str(error))}; list the keys with aws iam list-access-keys")
        raise typer.Exit(1) from error
    retired = f", {rotated.old_key_id} deleted" if rotated.old_key_id else ""
    console.print(f"{user}: the Worker sends with {rotated.new_key_id}{retired}")


if __name__ == "__main__":
    app()
