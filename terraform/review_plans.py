"""`./taskw review`: plan the working tree's stacks against what is applied, and review what the plans do.

`python -m terraform.review_plans --env local [--stack infra] [--markdown out/review.md]` runs, for each
synthesized stack (or, with `--base main`, for the working tree's stacks against that revision applied onto
a fresh twin: `terraform.review_base`), `terraform plan -out` (with `-lock=false`: a review writes no state,
so it neither waits for nor blocks a deploy) and `terraform show -json` of that plan, then prints the review
(Rich) and writes it as Markdown. Exit code: 0 no change, 2 change, 3 data loss or wider IAM
(`terraform.plan_review`).
"""

from __future__ import annotations

import argparse
import json
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from terraform.environment import OUTDIR, ROOT, Environment
from terraform.plan_report import markdown, print_review
from terraform.plan_review import StackReview, exit_code, review_plan
from terraform.run import stack_dir, terraform, terraform_command

if TYPE_CHECKING:
    from cv_analytics.local.twin import Twin

STACKS = ("state", "infra", "processor", "reporter")
PLAN_FILE = "review.tfplan"
MARKDOWN = ROOT / "out" / "review.md"
# Plans spend most of their time waiting on the provider's reads; two at once keep two cores busy.
PARALLEL_PLANS = 2


# What Terraform says when a stack's backend or providers changed since its last init.
INIT_REQUIRED = "terraform init"
# One init at a time, even when two plans ask for one: the plug-in cache is not safe for two.
INIT_LOCK = threading.Lock()


class PlanFailed(SystemExit):
    pass


def _run(env: Environment, kind: str, arguments: list[str], outdir: Path, twin: Twin | None) -> str:
    result = terraform(env, kind, arguments, outdir=outdir, twin=twin, capture=True, check=False)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-15:]
        raise PlanFailed(f"terraform {arguments[0]} of {env.stack_name(kind)} failed:\n" + "\n".join(tail))
    return result.stdout


def plan_json(env: Environment, kind: str, outdir: Path = OUTDIR, twin: Twin | None = None) -> dict[str, Any]:
    """Terraform's own JSON of the plan of one synthesized (and initialised) stack."""
    plan_file = stack_dir(env, kind, outdir) / PLAN_FILE
    plan_arguments = ["plan", "-input=false", "-no-color", "-lock=false", f"-out={PLAN_FILE}"]
    try:
        try:
            _run(env, kind, plan_arguments, outdir, twin)
        except PlanFailed as failed:
            if INIT_REQUIRED not in str(failed):
                raise
            with INIT_LOCK:
                _run(env, kind, ["init", "-input=false", "-no-color"], outdir, twin)
            _run(env, kind, plan_arguments, outdir, twin)
        plan: dict[str, Any] = json.loads(_run(env, kind, ["show", "-json", PLAN_FILE], outdir, twin))
    finally:
        plan_file.unlink(missing_ok=True)  # it holds the state's values, secrets included
    return plan


def needs_init(env: Environment, kind: str, outdir: Path) -> bool:
    """Whether a stack was never initialised here. One that was plans straight away: a changed backend or
    provider makes its plan fail asking for `terraform init`, and `plan_json` then initialises it."""
    folder = stack_dir(env, kind, outdir)
    return not ((folder / ".terraform").is_dir() and (folder / ".terraform.lock.hcl").is_file())


def review_stacks(
    env: Environment,
    kinds: Sequence[str] = STACKS,
    outdir: Path = OUTDIR,
    twin: Twin | None = None,
    *,
    init: bool = True,
) -> list[StackReview]:
    """Plan each stack (after `terraform init` where it was never initialised, one at a time: the plug-in
    cache is not safe for two) and review the plans, in the order given."""
    terraform_command()
    for kind in kinds if init else ():
        if needs_init(env, kind, outdir):
            _run(env, kind, ["init", "-input=false", "-no-color"], outdir, twin)
    with ThreadPoolExecutor(max_workers=PARALLEL_PLANS) as pool:
        plans = list(pool.map(lambda kind: plan_json(env, kind, outdir, twin), kinds))
    return [review_plan(env.stack_name(kind), plan) for kind, plan in zip(kinds, plans, strict=True)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m terraform.review_plans")
    parser.add_argument("--env", default="local")
    parser.add_argument("--stack", action="append", choices=STACKS, help="only this stack (repeatable)")
    parser.add_argument(
        "--outdir", type=Path, default=OUTDIR, help="the synth's folder (terraform/cdktf.out)"
    )
    parser.add_argument("--markdown", type=Path, default=MARKDOWN, help="where the Markdown review goes")
    parser.add_argument(
        "--base", help="a git revision applied onto a fresh twin to plan against (local only), e.g. main"
    )
    arguments = parser.parse_args(argv)
    env = Environment.load(arguments.env)
    kinds = arguments.stack or STACKS
    if arguments.base:
        from terraform.review_base import review_against_base

        if env.local_aws is None:
            parser.error(f"--base applies the base onto the local twin: it needs --env local, not {env.name}")
        reviews = review_against_base(arguments.base, kinds)
    else:
        reviews = review_stacks(env, kinds, arguments.outdir)
    print_review(reviews, Console())
    arguments.markdown.parent.mkdir(parents=True, exist_ok=True)
    arguments.markdown.write_text(markdown(reviews), encoding="utf-8")
    print(f"wrote {arguments.markdown}")
    return exit_code(reviews)


if __name__ == "__main__":
    raise SystemExit(main())
