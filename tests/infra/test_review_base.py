"""`./taskw review BASE=...` refuses a base it cannot apply onto a twin in one line, leaving no worktree."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from terraform.environment import ROOT
from terraform.review_base import review_against_base


def _worktrees() -> str:
    return subprocess.run(
        ["git", "worktree", "list"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


def test_a_base_without_the_local_environment_is_refused_and_its_worktree_removed(tmp_path: Path) -> None:
    # The first commit of the history has no terraform/environments/local.json.
    first = subprocess.run(
        ["git", "rev-list", "--max-parents=0", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()[0]
    with pytest.raises(SystemExit) as refused:
        review_against_base(first, ["infra"], scratch=tmp_path)
    assert str(refused.value) == (
        f"BASE={first} has no local environment (terraform/environments/local.json): "
        "it cannot be applied onto a twin"
    )
    assert str(tmp_path) not in _worktrees()


def test_an_unknown_base_is_refused_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as refused:
        review_against_base("no-such-revision", ["infra"], scratch=tmp_path)
    message = str(refused.value)
    assert message.startswith("cannot check out BASE=no-such-revision: ") and "\n" not in message
