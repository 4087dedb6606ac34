"""The committed snapshots, checkov and the reviewer's diff, on the synth shared by the test run."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from terraform.checkov import SKIPPED_CHECKS, run_checkov
from terraform.environment import ROOT
from terraform.review import committed, render, synthesized
from tests.infra.conftest import Synth


def test_committed_snapshots_are_fresh(synth: Synth) -> None:
    current = synthesized(synth.outdir)
    snapshots = committed()
    assert sorted(snapshots) == sorted(current), (
        "stacks were added or removed: run `task snapshot` and commit"
    )
    stale = [name for name in current if render(current[name]) != render(snapshots[name])]
    assert not stale, (
        f"the synthesized Terraform of {', '.join(stale)} changed: "
        "review `task diff`, then run `task snapshot` and commit"
    )


# The first run on a fresh machine installs checkov's virtualenv (about two minutes) inside this test.
@pytest.mark.timeout(900)
def test_checkov_finds_no_failed_check(synth: Synth) -> None:
    stack_dirs = sorted(path for path in (synth.outdir / "stacks").iterdir() if path.is_dir())
    result = run_checkov(stack_dirs)
    assert result.failures == []
    assert result.failed == 0
    assert result.passed > 100, "checkov ran (the terraform_json runner, not a silent no-op)"
    assert all(len(reason) > 40 for reason in SKIPPED_CHECKS.values())


def _diff(snapshot_dir: Path, synth: Synth) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "terraform.review",
            "diff",
            "--outdir",
            str(synth.outdir),
            "--snapshots",
            str(snapshot_dir),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


def test_diff_reports_a_table_key_change_as_a_replacement_and_a_wider_policy(
    synth: Synth, tmp_path: Path
) -> None:
    snapshots = committed()
    unchanged = _diff(_write(tmp_path / "same", snapshots), synth)
    assert unchanged.returncode == 0, unchanged.stdout

    # The baseline as if the code had just changed: its table had another key, its policy fewer actions.
    before = copy.deepcopy(snapshots)
    tables = before["infra-dev"]["resource"]["aws_dynamodb_table"]
    table_id = next(k for k, v in tables.items() if v["name"].endswith("-query-events"))
    tables[table_id]["hash_key"] = "id"
    policies = before["processor-dev"]["resource"]["aws_iam_role_policy"]
    policy_id = next(k for k in policies if k.startswith("processor_policy"))
    document = json.loads(policies[policy_id]["policy"])
    analytics_statement = next(s for s in document["Statement"] if s.get("Sid") == "Analytics")
    analytics_statement["Action"].remove("dynamodb:DeleteItem")
    policies[policy_id]["policy"] = json.dumps(document)
    del before["reporter-dev"]["resource"]["aws_scheduler_schedule"]

    # Through the pipeline itself: `task -x` passes the diff's exit code on (plain `task` makes it 201).
    bin_dir = Path(sys.executable).parent
    snapshot_dir = _write(tmp_path / "before", before)
    changed = subprocess.run(
        [str(bin_dir / "task"), "-x", "diff", f"SNAPSHOTS={snapshot_dir}"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"},
        check=False,
    )
    assert changed.returncode == 2, changed.stderr
    out = changed.stdout
    assert f"! REPLACED aws_dynamodb_table.{table_id} (destroyed and recreated: hash_key changed)" in out
    assert 'hash_key: "id" -> "request_id"' in out
    assert f"! IAM WIDENED aws_iam_role_policy.{policy_id}" in out
    assert (
        "+ Allow dynamodb:DeleteItem on ${data.terraform_remote_state.infra.outputs.analytics_table_arn}"
        in out
    )
    assert "+ added    aws_scheduler_schedule." in out
    assert "3 of 8 stacks differ" in out


def _write(directory: Path, stacks: dict[str, dict[str, object]]) -> Path:
    directory.mkdir()
    for name, stack in stacks.items():
        (directory / f"{name}.json").write_text(render(stack), encoding="utf-8")
    return directory
