"""What every stack shares: the AWS provider with the cost tags, and where its state lives."""

from __future__ import annotations

from typing import Any

from cdktn import S3Backend, TerraformStack
from cdktn_provider_aws.provider import AwsProvider, AwsProviderDefaultTags
from constructs import Construct

from terraform.environment import Environment, LocalAws


def local_provider_settings(local: LocalAws) -> dict[str, Any]:
    """The provider arguments that point it at the local AWS twin: every service at the twin's URL.

    The twin has no instance metadata and one fixed account; the checks skipped are the ones that would ask
    the real AWS (metadata, region list) and nothing that the stacks' own resources depend on.
    """
    return {
        "endpoints": [dict.fromkeys(local.services, local.endpoint_url)],
        "s3_use_path_style": True,
        "skip_credentials_validation": True,
        "skip_metadata_api_check": "true",
        "skip_region_validation": True,
        "skip_requesting_account_id": False,
    }


def s3_state_settings(env: Environment) -> dict[str, Any]:
    """Where the S3 backend and every `terraform_remote_state` read of it find the state bucket.

    Both need the same arguments (an override file replaces a whole backend block, it does not merge it),
    so they are written once here; dev and prod need only the bucket's region.
    """
    settings: dict[str, Any] = {"bucket": env.state_bucket, "region": env.region}
    if env.local_aws is not None:
        url = env.local_aws.endpoint_url
        settings |= {
            "endpoints": {"s3": url, "sts": url, "iam": url},
            "use_path_style": True,
            "skip_credentials_validation": True,
            "skip_metadata_api_check": True,
            "skip_region_validation": True,
        }
    return settings


class ProjectStack(TerraformStack):
    """A stack of one environment whose every taggable resource carries Project/Component/Environment/Owner.

    The tags are the provider's default tags, so no resource can be created without them.
    """

    kind = ""

    def __init__(self, scope: Construct, env: Environment) -> None:
        super().__init__(scope, env.stack_name(self.kind))
        self.env = env
        local = local_provider_settings(env.local_aws) if env.local_aws else {}
        AwsProvider(
            self,
            "aws",
            region=env.region,
            default_tags=[AwsProviderDefaultTags(tags=env.tags(self.kind))],
            **local,
        )
        if env.local_aws is not None:
            # The only provider on a machine without registry access may be older than the bindings'.
            self.add_override("terraform.required_providers.aws.version", env.local_aws.provider_version)

    def use_remote_backend(self) -> None:
        """State in the environment's bucket, encrypted, with S3's native lock file (Terraform 1.10+)."""
        S3Backend(
            self,
            key=self.env.state_key(self.kind),
            encrypt=True,
            use_lockfile=True,
            **s3_state_settings(self.env),
        )
