"""state-<env>: the bucket every other stack keeps its state in. Its own state stays local (bootstrap).

The local state file lives in terraform/bootstrap-state/ (git-ignored), outside cdktf.out/, so a fresh
synth never loses it.
"""

from __future__ import annotations

import os
from pathlib import Path

from cdktn import LocalBackend, TerraformOutput
from constructs import Construct

from modules.state_bucket import StateBucket, StateBucketSpec
from terraform.environment import TERRAFORM_DIR, Environment
from terraform.stacks.base import ProjectStack

BOOTSTRAP_STATE_DIR = TERRAFORM_DIR / "bootstrap-state"
# Old state versions are kept this long: long enough to recover from a bad apply noticed late.
NONCURRENT_STATE_DAYS = 90


class StateStack(ProjectStack):
    kind = "state"

    def __init__(
        self,
        scope: Construct,
        env: Environment,
        *,
        stack_dir: Path,
        bootstrap_state_dir: Path = BOOTSTRAP_STATE_DIR,
    ) -> None:
        super().__init__(scope, env)
        state_file = bootstrap_state_dir / f"{self.env.stack_name(self.kind)}.tfstate"
        LocalBackend(self, path=os.path.relpath(state_file, stack_dir))
        state = StateBucket(
            self,
            "state-bucket",
            StateBucketSpec(name=env.state_bucket, noncurrent_version_days=NONCURRENT_STATE_DAYS),
        )
        TerraformOutput(
            self,
            "state_bucket",
            value=state.bucket.bucket,
            description="Name of the S3 bucket the infra and function stacks keep their state in",
        )
