"""What every stack shares: the AWS provider with the cost tags, and where its state lives."""

from __future__ import annotations

from cdktn import S3Backend, TerraformStack
from cdktn_provider_aws.provider import AwsProvider, AwsProviderDefaultTags
from constructs import Construct

from terraform.environment import Environment


class ProjectStack(TerraformStack):
    """A stack of one environment whose every taggable resource carries Project/Component/Environment/Owner.

    The tags are the provider's default tags, so no resource can be created without them.
    """

    kind = ""

    def __init__(self, scope: Construct, env: Environment) -> None:
        super().__init__(scope, env.stack_name(self.kind))
        self.env = env
        AwsProvider(
            self, "aws", region=env.region, default_tags=[AwsProviderDefaultTags(tags=env.tags(self.kind))]
        )

    def use_remote_backend(self) -> None:
        """State in the environment's bucket, encrypted, with S3's native lock file (Terraform 1.10+)."""
        S3Backend(
            self,
            bucket=self.env.state_bucket,
            key=self.env.state_key(self.kind),
            region=self.env.region,
            encrypt=True,
            use_lockfile=True,
        )
