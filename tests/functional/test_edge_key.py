"""The edge key rotation's refusals: the old key is never the one that goes when a step does not finish."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from cv_analytics import edge_key

USER = "publisher"


@pytest.fixture
def iam() -> Any:
    with mock_aws():
        client = boto3.client("iam", region_name="eu-west-2")
        client.create_user(UserName=USER)
        yield client


def _keys(iam: Any) -> list[tuple[str, str]]:
    return [(k["AccessKeyId"], k["Status"]) for k in iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]]


def test_a_declined_hand_over_deletes_the_new_key_and_keeps_the_old(iam: Any) -> None:
    old = iam.create_access_key(UserName=USER)["AccessKey"]["AccessKeyId"]
    with pytest.raises(edge_key.RotationError, match=r"not handed to the Worker.*deleted again"):
        edge_key.rotate(iam, user=USER, accepted=lambda _: True, hand_over=lambda _: False)
    assert _keys(iam) == [(old, "Active")]


def test_a_worker_that_never_sends_with_the_new_key_leaves_both_keys_active(iam: Any) -> None:
    old = iam.create_access_key(UserName=USER)["AccessKey"]["AccessKeyId"]
    handed: list[edge_key.AccessKey] = []

    def hand_over(key: edge_key.AccessKey) -> bool:
        handed.append(key)
        return True

    ticks = iter(range(1000))
    with pytest.raises(edge_key.RotationError, match="both keys stay active"):
        edge_key.rotate(
            iam,
            user=USER,
            accepted=lambda _: True,
            hand_over=hand_over,
            send_timeout=5,
            sleep=lambda _: None,
            clock=lambda: float(next(ticks)),
        )
    assert _keys(iam) == [(old, "Active"), (handed[0].access_key_id, "Active")]


def test_a_user_with_two_keys_is_refused_before_anything_changes(iam: Any) -> None:
    for _ in range(2):
        iam.create_access_key(UserName=USER)
    before = _keys(iam)
    with pytest.raises(edge_key.RotationError, match="IAM allows no third"):
        edge_key.rotate(iam, user=USER, accepted=lambda _: True, hand_over=lambda _: True)
    assert _keys(iam) == before


KEY = edge_key.AccessKey("AKIANEWKEY", "new/secret+value")


def _worker_with_wrangler(tmp_path: Path) -> Path:
    """A Worker folder whose wrangler records its arguments and standard input instead of deploying."""
    binary = tmp_path / "node_modules" / ".bin" / "wrangler"
    binary.parent.mkdir(parents=True)
    binary.write_text('#!/bin/sh\nprintf "%s\\n" "$*" > "$0.args"\ncat > "$0.stdin"\n', encoding="utf-8")
    binary.chmod(0o755)
    return tmp_path


def test_wrangler_gets_both_secrets_in_one_bulk_deployment_once_confirmed(tmp_path: Path) -> None:
    worker = _worker_with_wrangler(tmp_path)
    asked: list[str] = []

    def confirm(question: str) -> bool:
        asked.append(question)
        return True

    handed = edge_key.WranglerHandOver(worker, confirm=confirm, say=print)(KEY)
    binary = worker / "node_modules" / ".bin" / "wrangler"
    assert handed is True
    assert "new/secret+value" not in asked[0] and "AKIANEWKEY" in asked[0]
    assert Path(f"{binary}.args").read_text(encoding="utf-8") == "secret bulk\n"
    assert json.loads(Path(f"{binary}.stdin").read_text(encoding="utf-8")) == {
        "AWS_ACCESS_KEY_ID": "AKIANEWKEY",
        "AWS_SECRET_ACCESS_KEY": "new/secret+value",
    }


def test_a_declined_wrangler_run_runs_nothing(tmp_path: Path) -> None:
    worker = _worker_with_wrangler(tmp_path)
    assert edge_key.WranglerHandOver(worker, confirm=lambda _: False, say=print)(KEY) is False
    assert not (worker / "node_modules" / ".bin" / "wrangler.stdin").exists()


def test_without_wrangler_the_secrets_are_printed_to_set_by_hand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    said: list[str] = []
    assert edge_key.WranglerHandOver(tmp_path, confirm=lambda _: True, say=said.append)(KEY) is True
    assert "wrangler secret bulk" in said[0]
    assert said[0].endswith(json.dumps(edge_key.secrets_of(KEY)))
