"""`./taskw review` for a one-line change: with the twin already holding the base, and from nothing.

Run with `./taskw bench-review` (about five minutes). A clone of HEAD in .cache/bench-review/tree stands for
the developer's checkout. Its local stacks are applied onto a twin (untimed: the developer's `./taskw
deploy-* ENV=local` of earlier), then one line of terraform/environments/local.json changes (the
processor's memory, 256 -> 512 MB), and two reviews of that change are timed, each in its own process from
the clone as the task runs it:

- twin up: the `review` task's synth of the clone, then `python -m terraform.review_plans --env local`
  against the running twin (init and plan of the four stacks);
- from nothing: `python -m terraform.review_plans --env local --base HEAD`, which checks out HEAD, starts a
  fresh twin, applies HEAD's stacks onto it and plans the clone against them.

Both must exit 2 (a change, neither data loss nor wider IAM). Figures are wall seconds and their ratio.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from cv_analytics import packaging
from cv_analytics.local.deploy import LOCAL, LocalDeployment
from cv_analytics.local.twin import Twin, running_twin
from terraform.environment import ROOT, Environment
from terraform.review_base import apply_base, run_in_tree

SCRATCH = ROOT / ".cache" / "bench-review"
MEMORY_BEFORE, MEMORY_AFTER = 256, 512
CHANGED = 2


def _clone(tree: Path) -> None:
    subprocess.run(["git", "clone", "--quiet", "--shared", str(ROOT), str(tree)], check=True)


def _change_one_line(tree: Path) -> None:
    path = tree / "terraform" / "environments" / f"{LOCAL}.json"
    text = path.read_text(encoding="utf-8")
    before, after = f'"memory_mb": {MEMORY_BEFORE},', f'"memory_mb": {MEMORY_AFTER},'
    assert text.count(before) >= 1, f"{path} has no {before}"
    path.write_text(text.replace(before, after, 1), encoding="utf-8")
    assert json.loads(path.read_text(encoding="utf-8"))["processor"]["memory_mb"] == MEMORY_AFTER


def _in_tree(tree: Path, twin: Twin | None, arguments: list[str]) -> tuple[int, float, str]:
    """`python -m ARGUMENTS` with the clone's own code, timed; its exit code and last summary line."""
    began = time.monotonic()
    result = run_in_tree(tree, twin, arguments)
    seconds = time.monotonic() - began
    lines = (result.stdout + result.stderr).strip().splitlines()
    last = next((line for line in reversed(lines) if "stacks" in line), lines[-1] if lines else "")
    return result.returncode, seconds, last


def main() -> None:
    os.environ["COLUMNS"] = "200"  # the reviews' summary lines on one line each
    for function in packaging.FUNCTIONS:  # both reviews deploy the same zips; build them first, untimed
        packaging.build(function)
    shutil.rmtree(SCRATCH, ignore_errors=True)
    tree = SCRATCH / "tree"
    _clone(tree)
    env = Environment.load(LOCAL)
    identity = env.reporter.ses_identity
    try:
        with running_twin(SCRATCH / "twin", region=env.region, ses_identity=identity) as twin:
            deployment = LocalDeployment(
                tree / "terraform" / "cdktf.out", tree / "terraform" / "bootstrap-state", packaging.DIST
            )
            print(f"applying HEAD's local stacks onto {twin.endpoint_url} (untimed)", flush=True)
            apply_base(tree, twin, deployment)
            _change_one_line(tree)
            synth = ["terraform.main", LOCAL, "--outdir", str(deployment.outdir),
                     "--bootstrap-state-dir", str(deployment.bootstrap_state_dir)]  # fmt: skip
            code, synth_seconds, said = _in_tree(tree, twin, synth)
            assert code == 0, f"the clone's synth failed: {said}"
            code, plan_seconds, summary = _in_tree(
                tree, twin, ["terraform.review_plans", "--env", LOCAL, "--outdir", str(deployment.outdir)]
            )
            warm = synth_seconds + plan_seconds
            print(
                f"twin up: exit {code} in {warm:.1f} s (synth {synth_seconds:.1f}, plans {plan_seconds:.1f})"
            )
            print(f"  {summary}")
            assert code == CHANGED, f"expected exit {CHANGED} for the memory change, got {code}"
        code, cold, summary = _in_tree(
            tree, None, ["terraform.review_plans", "--env", LOCAL, "--base", "HEAD"]
        )
        print(f"from nothing (BASE=HEAD): exit {code} in {cold:.1f} s")
        print(f"  {summary}")
        assert code == CHANGED, f"expected exit {CHANGED} for the memory change, got {code}"
        print(f"from nothing / twin up: {cold / warm:.2f}")
    finally:
        shutil.rmtree(SCRATCH, ignore_errors=True)


if __name__ == "__main__":
    main()
