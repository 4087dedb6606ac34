"""The local environment on the AWS twin against its targets: apply from nothing, second plan, destroy, demo.

Run with `./taskw bench-twin` (several minutes). One twin on a free port: the four stacks applied from
nothing (each step timed; processor and reporter apply together), a second `plan -detailed-exitcode` of
each, the destroy of reporter, processor and infra; then `cv-analytics demo`'s wall time on a twin of its
own, Terraform apply included. Figures are wall seconds and their ratio to the targets (60 s for the apply,
90 s for the demo).
"""

from __future__ import annotations

import io
import tempfile
import time
from pathlib import Path

from rich.console import Console

from cv_analytics.local.demo import DemoOptions, run_demo
from cv_analytics.local.deploy import LocalDeployment, deploy_local
from cv_analytics.local.twin import running_twin
from terraform.environment import Environment
from terraform.run import terraform

APPLY_TARGET_SECONDS = 60.0
DEMO_TARGET_SECONDS = 90.0


def _ratio(seconds: float, target: float) -> str:
    return f"{seconds:.1f} s (target {target:.0f} s, {seconds / target:.2f} of target)"


def main() -> None:
    env = Environment.load("local")
    with tempfile.TemporaryDirectory(prefix="bench-twin-") as scratch:
        root = Path(scratch)
        identity = env.reporter.ses_identity
        with running_twin(root / "twin", region=env.region, ses_identity=identity) as twin:
            deployment = LocalDeployment.under(root)
            marks: list[tuple[str, float]] = []
            started = time.monotonic()
            deploy_local(twin, deployment, on_step=lambda step: marks.append((step, time.monotonic())))
            finished = time.monotonic()
            print(
                f"apply of all four stacks from nothing: {_ratio(finished - started, APPLY_TARGET_SECONDS)}"
            )
            for (step, at), (_, until) in zip(marks, [*marks[1:], ("end", finished)], strict=True):
                print(f"  {step:<24} {until - at:6.1f} s")
            for kind in ("state", "infra", "processor", "reporter"):
                began = time.monotonic()
                result = terraform(
                    env, kind, ["plan", "-input=false", "-detailed-exitcode"], outdir=deployment.outdir,
                    twin=twin, capture=True, check=False,
                )  # fmt: skip
                print(
                    f"second plan {kind}-local: exit {result.returncode} in {time.monotonic() - began:.1f} s"
                )
            began = time.monotonic()
            for kind in ("reporter", "processor", "infra"):
                terraform(
                    env, kind, ["destroy", "-input=false", "-auto-approve"], outdir=deployment.outdir,
                    twin=twin, capture=True,
                )  # fmt: skip
            print(f"destroy of reporter, processor and infra: {time.monotonic() - began:.1f} s")
        began = time.monotonic()
        demo = run_demo(DemoOptions(out_dir=root / "demo"), Console(file=io.StringIO()))
        print(f"demo, apply included: {_ratio(time.monotonic() - began, DEMO_TARGET_SECONDS)}")
        print(f"  (the demo's own clock: {demo.seconds:.1f} s; {len(demo.plan.requests)} questions)")


if __name__ == "__main__":
    main()
