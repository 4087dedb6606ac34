"""Deploy the `local` environment onto a twin with the project's own Terraform path, as a user's tasks do.

`deploy_local` synthesizes the local stacks for the twin's port (into a folder of the caller's), then applies
state, infra (as soon as the state bucket exists) and the processor and reporter stacks (those two at once:
they depend on infra alone), with `terraform.run`, the module behind `./taskw deploy-* ENV=local`. It returns
the infra stack's outputs, from which everything local then finds the queue, the tables and the ARNs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from botocore.exceptions import ClientError

from cv_analytics import machine_lock, packaging
from cv_analytics.local.twin import Twin
from terraform.environment import ROOT, TWIN_PORT_VARIABLE, Environment
from terraform.outputs import InfraOutputs
from terraform.run import SCRATCH, outputs, terraform

LOCAL = "local"
FUNCTION_STACKS = ("processor", "reporter")
QUIET_JSII = {"JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}


@dataclass(frozen=True)
class LocalDeployment:
    """Where a local synth lives: the stacks, the state stack's own state and the zips they deploy."""

    outdir: Path
    bootstrap_state_dir: Path
    dist: Path = packaging.DIST

    @classmethod
    def under(cls, folder: Path) -> LocalDeployment:
        return cls(folder / "cdktf.out", folder / "bootstrap-state", folder / "dist")

    def zip_of(self, function: str) -> Path:
        return self.dist / f"{function}.zip"


def port_of(twin: Twin) -> str:
    return twin.endpoint_url.rsplit(":", 1)[1]


def synth_local(twin: Twin, deployment: LocalDeployment, *, build: bool = True) -> None:
    """Build both zips into the deployment's `dist` (unless `build` is false: the zips there as they are)
    and synthesize the local stacks for this twin's port, deploying those zips."""
    for function in packaging.FUNCTIONS if build else ():
        packaging.build(function, deployment.zip_of(function))
    deployment.bootstrap_state_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(  # noqa: S603 - the project's own synth
        [sys.executable, "-m", "terraform.main", LOCAL, "--outdir", str(deployment.outdir),
         "--bootstrap-state-dir", str(deployment.bootstrap_state_dir)],
        cwd=ROOT,
        env={
            **os.environ,
            TWIN_PORT_VARIABLE: port_of(twin),
            packaging.DIST_VARIABLE: str(deployment.dist),
            **QUIET_JSII,
        },
        check=True,
        capture_output=True,
    )  # fmt: skip


def init_stack(twin: Twin, deployment: LocalDeployment, kind: str) -> None:
    """`terraform init`, one at a time on this machine: the plug-in cache is not safe for two inits at once,
    in this process or another (a demo's apply beside the tests' own)."""
    with machine_lock.held(SCRATCH / "init.lock"):
        result = terraform(
            Environment.load(LOCAL),
            kind,
            ["init", "-input=false", "-no-color"],
            outdir=deployment.outdir,
            twin=twin,
            capture=True,
            check=False,
        )
    if result.returncode != 0:
        raise RuntimeError(
            f"terraform init of {kind}-{LOCAL} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )


def apply_stack(twin: Twin, deployment: LocalDeployment, kind: str, *extra: str, init: bool = True) -> None:
    env = Environment.load(LOCAL)
    common = {"outdir": deployment.outdir, "twin": twin, "capture": True}
    if init:
        init_stack(twin, deployment, kind)
    result = terraform(
        env,
        kind,
        ["apply", "-input=false", "-no-color", "-auto-approve", *extra],
        check=False,
        **common,  # type: ignore[arg-type]
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"terraform apply of {kind}-{LOCAL} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )


def deploy_local(
    twin: Twin, deployment: LocalDeployment, *, on_step: Callable[[str], None] = lambda _: None
) -> InfraOutputs:
    """Synth and apply all four local stacks from nothing (or bring them up to date); the infra outputs.

    The infra stack's backend needs the state bucket to exist, not the rest of the state stack: the AWS
    provider then spends most of a minute polling the bucket's lifecycle rules (three identical reads ten
    seconds apart, on top of its read-after-write retries). So infra starts as soon as the bucket answers,
    while the state stack's apply finishes beside it, and both must succeed before the function stacks.
    """
    on_step("synth")
    synth_local(twin, deployment)
    on_step("state")
    with ThreadPoolExecutor(max_workers=1) as background:
        state = background.submit(apply_stack, twin, deployment, "state")
        _wait_for_state_bucket(twin, state)
        on_step("infra")
        apply_stack(twin, deployment, "infra")
        state.result()
    on_step("processor and reporter")
    for kind in FUNCTION_STACKS:
        init_stack(twin, deployment, kind)
    with ThreadPoolExecutor(max_workers=len(FUNCTION_STACKS)) as pool:
        applies = [pool.submit(apply_stack, twin, deployment, kind, init=False) for kind in FUNCTION_STACKS]
        for future in applies:
            future.result()
    return infra_outputs(twin, deployment)


STATE_BUCKET_TIMEOUT_SECONDS = 120


def _wait_for_state_bucket(twin: Twin, state: Future[None]) -> None:
    """Return once the state bucket exists (or the state stack's apply has ended, raising its error)."""
    s3 = twin.client("s3")
    bucket = Environment.load(LOCAL).state_bucket
    deadline = time.monotonic() + STATE_BUCKET_TIMEOUT_SECONDS
    while not state.done():
        try:
            s3.head_bucket(Bucket=bucket)
            return
        except ClientError:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the state bucket {bucket} did not appear within {STATE_BUCKET_TIMEOUT_SECONDS} s"
                ) from None
            time.sleep(0.25)
    state.result()


def infra_outputs(twin: Twin, deployment: LocalDeployment) -> InfraOutputs:
    return InfraOutputs.from_outputs(
        outputs(Environment.load(LOCAL), "infra", outdir=deployment.outdir, twin=twin)
    )
