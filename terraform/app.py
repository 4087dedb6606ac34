"""Build the CDK app: four stacks per environment, in dependency order."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from cdktn import App

from terraform.environment import OUTDIR, TERRAFORM_DIR, Environment, environment_names
from terraform.stacks.functions import ProcessorStack, ReporterStack
from terraform.stacks.infra import InfraStack
from terraform.stacks.state import BOOTSTRAP_STATE_DIR, StateStack


def target_versions() -> dict[str, str]:
    """Terraform/OpenTofu versions the stacks need (S3 native locking: 1.10), declared once in cdktf.json.

    The CLI passes them to the app as context; a plain `python -m terraform.main` passes them here.
    """
    config = json.loads((TERRAFORM_DIR / "cdktf.json").read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in config["targetVersions"].items()}


def build_app(
    environments: Sequence[str] | None = None,
    outdir: Path = OUTDIR,
    bootstrap_state_dir: Path = BOOTSTRAP_STATE_DIR,
) -> App:
    app = App(outdir=str(outdir), context={"targetVersions": target_versions()})
    stacks_dir = outdir / "stacks"
    for name in environments or environment_names():
        env = Environment.load(name)
        state = StateStack(
            app, env, stack_dir=stacks_dir / env.stack_name("state"), bootstrap_state_dir=bootstrap_state_dir
        )
        infra = InfraStack(app, env)
        infra.add_dependency(state)
        for stack_class in (ProcessorStack, ReporterStack):
            function_stack = stack_class(app, env, stack_dir=stacks_dir / env.stack_name(stack_class.kind))
            function_stack.add_dependency(infra)
    return app
