"""state-<env>: the bucket every other stack keeps its state in. Its own state stays local (bootstrap).

The local state file lives in terraform/bootstrap-state/ (git-ignored), outside cdktf.out/, so a fresh
synth never loses it.
"""

from __future__ import annotations

import os
from pathlib import Path

from cdktn import LocalBackend, TerraformOutput
from cdktn_provider_aws.s3_bucket import S3Bucket
from cdktn_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
)
from cdktn_provider_aws.s3_bucket_policy import S3BucketPolicy
from cdktn_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from cdktn_provider_aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA,
)
from cdktn_provider_aws.s3_bucket_versioning import S3BucketVersioningA
from constructs import Construct

from modules.policy import Statement, policy_json
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
        bucket = S3Bucket(self, "bucket", bucket=env.state_bucket)
        S3BucketVersioningA(
            self, "versioning", bucket=bucket.id, versioning_configuration={"status": "Enabled"}
        )
        S3BucketServerSideEncryptionConfigurationA(
            self,
            "encryption",
            bucket=bucket.id,
            rule=[
                S3BucketServerSideEncryptionConfigurationRuleA(
                    apply_server_side_encryption_by_default=(
                        S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                            sse_algorithm="aws:kms"
                        )
                    ),
                    bucket_key_enabled=True,
                )
            ],
        )
        S3BucketPublicAccessBlock(
            self,
            "public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )
        S3BucketLifecycleConfiguration(
            self,
            "lifecycle",
            bucket=bucket.id,
            rule=[
                S3BucketLifecycleConfigurationRule(
                    id="expire-old-state-versions",
                    status="Enabled",
                    filter=[S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                    noncurrent_version_expiration=[
                        S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                            noncurrent_days=NONCURRENT_STATE_DAYS
                        )
                    ],
                    abort_incomplete_multipart_upload=[
                        S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(
                            days_after_initiation=7
                        )
                    ],
                )
            ],
        )
        tls_only = Statement(
            sid="DenyInsecureTransport",
            effect="Deny",
            principal="*",
            # A Deny on every action narrows access; it grants nothing.
            actions=["s3:*"],
            resources=[bucket.arn, f"{bucket.arn}/*"],
            condition={"Bool": {"aws:SecureTransport": "false"}},
        )
        S3BucketPolicy(self, "tls-only", bucket=bucket.id, policy=policy_json([tls_only]))
        TerraformOutput(self, "state_bucket", value=bucket.bucket)
