"""The IAM identity the Cloudflare Worker signs its SendMessage calls with.

A user, because the Worker runs outside AWS and can only hold static keys. Its permission comes from a group
(so no policy is attached to a user directly) that allows `sqs:SendMessage` on the one queue and nothing else.
The access key is deliberately not created here: Terraform would store its secret in plain text in the state
file. The operator creates it once with `aws iam create-access-key` and pipes it into `wrangler secret put`,
so the secret exists only in AWS and in the Worker's encrypted secrets; rotation is the same two commands.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktn_provider_aws.iam_group import IamGroup
from cdktn_provider_aws.iam_group_policy import IamGroupPolicy
from cdktn_provider_aws.iam_user import IamUser
from cdktn_provider_aws.iam_user_group_membership import IamUserGroupMembership
from constructs import Construct

from modules.policy import Statement, policy_json


@dataclass(frozen=True)
class EdgePublisherSpec:
    """The IAM user's `name` (its group is `<name>s`), and the one queue it may send to."""

    name: str
    queue_arn: str


class EdgePublisher(Construct):
    """The user, its group and the group's one-statement policy.

    Outputs: `user` (its `name` is what `aws iam create-access-key --user-name` takes).
    """

    def __init__(self, scope: Construct, id_: str, spec: EdgePublisherSpec) -> None:
        super().__init__(scope, id_)
        name, queue_arn = spec.name, spec.queue_arn
        group = IamGroup(self, "group", name=f"{name}s")
        IamGroupPolicy(
            self,
            "send",
            name=f"{name}-send",
            group=group.name,
            policy=policy_json(
                [Statement(sid="SendEvents", actions=["sqs:SendMessage"], resources=[queue_arn])]
            ),
        )
        self.user = IamUser(self, "user", name=name)
        IamUserGroupMembership(self, "membership", user=self.user.name, groups=[group.name])
