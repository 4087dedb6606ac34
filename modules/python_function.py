"""A Python Lambda from a built zip: function, role, log group, published versions and a `live` alias.

Everything that invokes the function (event source mapping, schedules) targets the alias, so a rollback is
one alias update and never touches the triggers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cdktn_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktn_provider_aws.iam_role import IamRole
from cdktn_provider_aws.iam_role_policy import IamRolePolicy
from cdktn_provider_aws.lambda_alias import LambdaAlias
from cdktn_provider_aws.lambda_function import LambdaFunction
from constructs import Construct

from contract.resources import LIVE_ALIAS
from cv_analytics.packaging import sha256_base64
from modules.policy import Statement, assume_role_json, policy_json

RUNTIME = "python3.12"


@dataclass(frozen=True)
class FunctionSpec:
    """Function `name` running `handler` from the zip at `zip_path` (built first: `task build-<zip>`).

    `zip_reference` is how Terraform finds that zip from the stack's folder; `environment` its variables;
    `statements` what its role may do beyond writing its own log group; `log_retention_days` that group's.
    """

    name: str
    handler: str
    zip_path: Path
    zip_reference: str  # how Terraform finds the zip from the stack folder
    memory_mb: int
    timeout_seconds: int
    architecture: str
    log_retention_days: int
    environment: Mapping[str, str]
    statements: Sequence[Statement]
    description: str = ""


class PythonFunction(Construct):
    """The function, its role and policy, its log group and its `live` alias.

    Outputs: `function`, `alias` (what every trigger invokes), `role`, `log_group`.
    """

    def __init__(self, scope: Construct, id_: str, spec: FunctionSpec) -> None:
        super().__init__(scope, id_)
        if not spec.zip_path.exists():
            raise FileNotFoundError(
                f"{spec.zip_path} is missing: build it first (task build-{spec.zip_path.stem})"
            )
        self.log_group = CloudwatchLogGroup(
            self, "logs", name=f"/aws/lambda/{spec.name}", retention_in_days=spec.log_retention_days
        )
        self.role = IamRole(
            self,
            "role",
            name=f"{spec.name}-role",
            assume_role_policy=assume_role_json("lambda.amazonaws.com"),
        )
        own_logs = Statement(
            sid="OwnLogs",
            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
            # Log streams inside this function's own group: the `:*` is the stream name, not a wildcard scope.
            resources=[f"{self.log_group.arn}:*"],
        )
        IamRolePolicy(
            self,
            "policy",
            name=f"{spec.name}-policy",
            role=self.role.id,
            policy=policy_json([own_logs, *spec.statements]),
        )
        self.function = LambdaFunction(
            self,
            "function",
            function_name=spec.name,
            description=spec.description,
            role=self.role.arn,
            runtime=RUNTIME,
            architectures=[spec.architecture],
            handler=spec.handler,
            filename=spec.zip_reference,
            source_code_hash=sha256_base64(spec.zip_path),
            memory_size=spec.memory_mb,
            timeout=spec.timeout_seconds,
            publish=True,
            environment={"variables": dict(spec.environment)},
            logging_config={"log_format": "JSON", "log_group": self.log_group.name},
            depends_on=[self.log_group],
        )
        self.alias = LambdaAlias(
            self,
            "live",
            name=LIVE_ALIAS,
            function_name=self.function.function_name,
            function_version=self.function.version,
        )
