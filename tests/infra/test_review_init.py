"""A review initialises only what was never initialised: the synth folder keeps `.terraform` between runs."""

from __future__ import annotations

from pathlib import Path

from terraform.environment import Environment
from terraform.review_plans import needs_init


def test_a_stack_with_its_providers_and_lock_file_plans_without_init(tmp_path: Path) -> None:
    env = Environment.load("local")
    folder = tmp_path / "stacks" / env.stack_name("infra")
    folder.mkdir(parents=True)
    assert needs_init(env, "infra", tmp_path), "never initialised"
    (folder / ".terraform").mkdir()
    assert needs_init(env, "infra", tmp_path), "providers but no lock file: an init was interrupted"
    (folder / ".terraform.lock.hcl").write_text("", encoding="utf-8")
    assert not needs_init(env, "infra", tmp_path)
    assert needs_init(env, "processor", tmp_path), "each stack on its own"
