"""`./taskw review BASE=main`: what the working tree changes against a base revision, from real plans.

A scratch `git worktree` of BASE (.cache/review-base/base) is applied onto a fresh twin of its own, with
BASE's own synth and Terraform runner (its `terraform.main` and `terraform.run`, its `src/` first on the
path), then the working tree's local stacks are synthesized for that twin and planned against what BASE
applied. Both deploy the working tree's zips (`CV_ANALYTICS_DIST`): function code is deployed by each
function's own task, so the review shows infrastructure decisions, not code. The twin and the worktree are
removed afterwards, whatever happened.

BASE must have the local environment (terraform/environments/local.json): a revision without it cannot be
applied onto a twin, and is refused in one line.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from cv_analytics import packaging
from cv_analytics.local.deploy import LOCAL, QUIET_JSII, LocalDeployment, port_of, synth_local
from cv_analytics.local.twin import Twin, running_twin
from terraform.environment import ROOT, TWIN_PORT_VARIABLE, Environment
from terraform.plan_review import StackReview
from terraform.review_plans import review_stacks

SCRATCH = ROOT / ".cache" / "review-base"
# The order a first deploy takes: the state bucket, then infra, then the functions that read its outputs.
APPLY_ORDER = ("state", "infra", "processor", "reporter")


def _git(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - git with the project's own arguments
        ["git", *arguments],  # noqa: S607 - git from PATH, as the developer runs it
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


@contextmanager
def base_worktree(base: str, folder: Path) -> Iterator[Path]:
    """A detached worktree of `base` in `folder` for the block's length."""
    _git("worktree", "remove", "--force", str(folder))
    shutil.rmtree(folder, ignore_errors=True)
    added = _git("worktree", "add", "--detach", str(folder), base)
    if added.returncode != 0:
        raise SystemExit(f"cannot check out BASE={base}: {added.stderr.strip().splitlines()[-1]}")
    try:
        if not (folder / "terraform" / "environments" / f"{LOCAL}.json").exists():
            raise SystemExit(
                f"BASE={base} has no local environment (terraform/environments/local.json): "
                "it cannot be applied onto a twin"
            )
        yield folder
    finally:
        _git("worktree", "remove", "--force", str(folder))


def run_in_tree(tree: Path, twin: Twin | None, arguments: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """`python -m ARGUMENTS` with another checkout's own modules (its `src/` first on the path), deploying
    this tree's zips, pointed at `twin` (or at none: a twin of its own, as `--base` starts)."""
    environment = {
        **os.environ,
        **QUIET_JSII,
        "PYTHONPATH": os.pathsep.join([str(tree / "src"), str(tree)]),
        packaging.DIST_VARIABLE: str(packaging.DIST),
    }
    for variable in ("TWIN_FOLDER", TWIN_PORT_VARIABLE):
        environment.pop(variable, None)
    if twin is not None:
        environment |= {"TWIN_FOLDER": str(twin.folder), TWIN_PORT_VARIABLE: port_of(twin)}
    return subprocess.run(  # noqa: S603 - the checkout's own modules
        [sys.executable, "-m", *arguments], cwd=tree, env=environment, capture_output=True, text=True,
        check=False,
    )  # fmt: skip


def _run_in_base(base: Path, twin: Twin, arguments: Sequence[str]) -> None:
    result = run_in_tree(base, twin, arguments)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-15:]
        raise SystemExit(f"BASE: python -m {' '.join(arguments[:2])} failed:\n" + "\n".join(tail))


def apply_base(base: Path, twin: Twin, deployment: LocalDeployment) -> None:
    """Synthesize and apply the base revision's local stacks onto `twin`, with the base's own code."""
    deployment.bootstrap_state_dir.mkdir(parents=True, exist_ok=True)
    outdir = ["--outdir", str(deployment.outdir)]
    _run_in_base(base, twin, ["terraform.main", LOCAL, *outdir,
                              "--bootstrap-state-dir", str(deployment.bootstrap_state_dir)])  # fmt: skip
    for kind in APPLY_ORDER:
        _run_in_base(base, twin, ["terraform.run", "apply", "--env", LOCAL, "--stack", kind, *outdir,
                                  "--", "-input=false", "-no-color", "-auto-approve"])  # fmt: skip


def review_against_base(base: str, kinds: Sequence[str], scratch: Path = SCRATCH) -> list[StackReview]:
    """The working tree's local stacks planned against `base` applied onto a fresh twin."""
    env = Environment.load(LOCAL)
    shutil.rmtree(scratch / "twin", ignore_errors=True)
    identity = env.reporter.ses_identity
    with (
        base_worktree(base, scratch / "base") as tree,
        running_twin(scratch / "twin", region=env.region, ses_identity=identity) as twin,
    ):
        applied = LocalDeployment(scratch / "base-out", scratch / "bootstrap-state", packaging.DIST)
        shutil.rmtree(applied.outdir, ignore_errors=True)
        shutil.rmtree(applied.bootstrap_state_dir, ignore_errors=True)
        print(f"applying BASE={base} onto a fresh twin ({twin.endpoint_url}): a few minutes", flush=True)
        apply_base(tree, twin, applied)
        head = LocalDeployment(scratch / "head-out", applied.bootstrap_state_dir, packaging.DIST)
        shutil.rmtree(head.outdir, ignore_errors=True)
        synth_local(twin, head, build=False)
        return review_stacks(env, kinds, head.outdir, twin)
