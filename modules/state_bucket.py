"""The S3 bucket Terraform keeps every other stack's state in: versioned, KMS-encrypted, private, TLS only.

Old state versions expire after the spec's days (long enough to recover from a bad apply noticed late),
and incomplete multipart uploads after a week.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from cdktn import TerraformResource
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


@dataclass(frozen=True)
class StateBucketSpec:
    """The bucket's globally unique `name`; old state versions are kept `noncurrent_version_days`."""

    name: str
    noncurrent_version_days: int
    abort_incomplete_upload_days: int = 7


Resource = TypeVar("Resource", bound=TerraformResource)


def _at_stack_address(resource: Resource) -> Resource:
    """The resource at the address its id alone gives, as a resource of the stack itself would have."""
    resource.override_logical_id(resource.node.id)
    return resource


class StateBucket(Construct):
    """The bucket and its versioning, encryption, public access block, lifecycle and TLS-only policy.

    Its resources keep the addresses they had when they stood in the state stack itself
    (`aws_s3_bucket.bucket`, `aws_s3_bucket_versioning.versioning`, ...), so an existing state bucket is
    never planned for replacement; a stack therefore holds one StateBucket at most.

    Outputs: `bucket`.
    """

    def __init__(self, scope: Construct, id_: str, spec: StateBucketSpec) -> None:
        super().__init__(scope, id_)
        # Before anything refers to it: a reference is written with the address the resource had then.
        bucket = _at_stack_address(S3Bucket(self, "bucket", bucket=spec.name))
        self.bucket = bucket
        versioning = S3BucketVersioningA(
            self, "versioning", bucket=bucket.id, versioning_configuration={"status": "Enabled"}
        )
        encryption = S3BucketServerSideEncryptionConfigurationA(
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
        public_access = S3BucketPublicAccessBlock(
            self,
            "public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )
        lifecycle = S3BucketLifecycleConfiguration(
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
                            noncurrent_days=spec.noncurrent_version_days
                        )
                    ],
                    abort_incomplete_multipart_upload=[
                        S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(
                            days_after_initiation=spec.abort_incomplete_upload_days
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
        policy = S3BucketPolicy(self, "tls-only", bucket=bucket.id, policy=policy_json([tls_only]))
        settings: tuple[TerraformResource, ...] = (versioning, encryption, public_access, lifecycle, policy)
        for setting in settings:
            _at_stack_address(setting)
        resources: list[TerraformResource] = [
            bucket,
            versioning,
            encryption,
            public_access,
            lifecycle,
            policy,
        ]
        for resource in resources:
            resource.override_logical_id(resource.node.id)
