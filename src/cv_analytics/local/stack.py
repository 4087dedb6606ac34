"""The whole local stack: the AWS twin, the `local` environment deployed on it by Terraform, and the Worker.

Nothing here creates a queue, a table or a role: `deploy.deploy_local` applies the same stacks a user
deploys with `./taskw deploy-* ENV=local`, and everything after reads what Terraform created (the infra
outputs; the functions, mapping and schedules through `pipeline`). The Worker sends with an access key of
the edge publisher user Terraform created, so its SendMessage is authorised by that user's policy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cv_analytics.local.deploy import LocalDeployment, deploy_local, infra_outputs
from cv_analytics.local.pipeline import publisher_key
from cv_analytics.local.twin import Credentials, Twin, connect, default_folder, running_twin, start
from cv_analytics.local.worker import ExampleWorker, running_example_worker
from terraform.environment import Environment
from terraform.outputs import InfraOutputs

# How long the example Worker's stand-in model takes to answer a question it has not answered before.
MODEL_DELAY_MS = "300-1500"


@dataclass(frozen=True)
class LocalStack:
    twin: Twin
    environment: Environment
    deployment: LocalDeployment
    outputs: InfraOutputs
    publisher: Credentials
    worker: ExampleWorker
    code_cache: Path
    log_dir: Path

    def publisher_sqs(self) -> Any:
        """SQS as the edge publisher (the Worker's identity) sees it: SendMessage on the event queue only."""
        return self.twin.client("sqs", self.publisher)

    @property
    def recipients(self) -> str:
        return self.environment.reporter.settings["REPORT_RECIPIENTS"]


def worker_bindings(
    stack_outputs: InfraOutputs, twin: Twin, key: Credentials, *, demo_switches: bool
) -> dict[str, str]:
    """The Worker's env: the queue from the infra outputs, the publisher's key (its secrets), the stand-in
    model's answer time (and cache) so the report's speed figures measure something, and, for a replay,
    the demo switches."""
    bindings = {
        "AWS_SQS_URL": stack_outputs.queue_url,
        "AWS_REGION": twin.region,
        "AWS_ACCESS_KEY_ID": key.access_key_id,
        "AWS_SECRET_ACCESS_KEY": key.secret_access_key,
        "DEMO_MODEL_DELAY_MS": MODEL_DELAY_MS,
    }
    if demo_switches:
        bindings |= {"DEMO_ACCEPT_PAST_TIME": "true", "DEMO_ALLOW_ISOLATE_CRASH": "true"}
    return bindings


@contextmanager
def twin_for(folder: Path | None, port: int | None, given: Twin | None = None) -> Iterator[Twin]:
    """`given`; or a twin of the caller's own in `folder` (stopped afterwards); or the shared one
    `twin-up` starts (started if needed, left running afterwards)."""
    if given is not None:
        yield given
        return
    env = Environment.load("local")
    identity = env.reporter.ses_identity
    if folder is not None:
        with running_twin(folder, port=port, region=env.region, ses_identity=identity) as twin:
            yield twin
        return
    running = connect()
    if running is None:
        assert env.local_aws is not None
        running, _ = start(
            port or env.local_aws.port, default_folder(), region=env.region, ses_identity=identity
        )
    yield running


@contextmanager
def running_stack(
    *,
    log_dir: Path,
    deployment: LocalDeployment,
    twin_folder: Path | None,
    demo_switches: bool = True,
    on_step: Callable[[str], None] = lambda _: None,
    twin: Twin | None = None,
    apply: bool = True,
) -> Iterator[LocalStack]:
    """Twin up, `local` applied, the Worker started with the publisher's key; the Worker stops at the end.

    `apply=False` runs on a deployment already applied to `twin` (the tests' shared one) and only reads its
    outputs: applying it again would plan four stacks to find nothing to change.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    with twin_for(twin_folder, None, twin) as local:
        if apply:
            outputs = deploy_local(local, deployment, on_step=on_step)
        else:
            outputs = infra_outputs(local, deployment)
        key = publisher_key(local, outputs.edge_publisher_user)
        bindings = worker_bindings(outputs, local, key, demo_switches=demo_switches)
        on_step("worker")
        with running_example_worker(
            bindings, log=log_dir / "worker.log", ca_file=local.tls.ca_certificate
        ) as worker:
            yield LocalStack(
                local,
                Environment.load("local"),
                deployment,
                outputs,
                key,
                worker,
                deployment.outdir.parent / "code",
                log_dir,
            )
