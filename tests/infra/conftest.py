"""One synth per session, shared by every infra test; it needs the zips, built from the dependency cache."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cv_analytics import packaging
from terraform.environment import OUTDIR, environment_names


@dataclass(frozen=True)
class Synth:
    outdir: Path
    raw: dict[str, str]  # stack name -> cdk.tf.json text, for the CDK Testing matchers

    def stack(self, name: str) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.raw[name])
        return parsed

    def resources(self, name: str, type_: str) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = self.stack(name).get("resource", {}).get(type_, {})
        return found


@pytest.fixture(scope="session")
def lambda_zips() -> dict[str, Path]:
    return {function: packaging.build(function) for function in packaging.FUNCTIONS}


@pytest.fixture(scope="session")
def synth(lambda_zips: dict[str, Path]) -> Synth:
    from terraform.app import build_app

    build_app(outdir=OUTDIR).synth()
    raw = {
        path.parent.name: path.read_text(encoding="utf-8")
        for path in (OUTDIR / "stacks").glob("*/cdk.tf.json")
    }
    return Synth(outdir=OUTDIR, raw=raw)


@pytest.fixture(scope="session")
def environments() -> list[str]:
    return environment_names()
