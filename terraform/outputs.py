"""The infra stack's outputs, declared once: the stack writes them, everything else reads them through this.

Plain Python, no CDK. The infra stack writes one `TerraformOutput` per field, with the field's description;
the function stacks read them through `terraform_remote_state` (`InfraOutputs.read(remote.get_string)`,
whose values are then Terraform references); the local runtime reads what `terraform output` printed
(`InfraOutputs.from_outputs`). A renamed or added output is one field here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any


def _output(description: str) -> Any:
    return field(metadata={"description": description})


@dataclass(frozen=True)
class InfraOutputs:
    queue_arn: str = _output("ARN of the FIFO event queue the Worker sends to and the processor consumes")
    queue_url: str = _output("URL of the FIFO event queue: the Worker's AWS_SQS_URL")
    dlq_arn: str = _output("ARN of the FIFO dead-letter queue that failed events are moved to")
    dlq_url: str = _output(
        "URL of the FIFO dead-letter queue: the reporter's DLQ_URL and the redrive's source"
    )
    query_events_table: str = _output("Name of the QueryEvents table of interim halves: QUERY_EVENTS_TABLE")
    query_events_table_arn: str = _output("ARN of the QueryEvents table, for the functions' IAM policies")
    analytics_table: str = _output("Name of the Analytics table of request records: ANALYTICS_TABLE")
    analytics_table_arn: str = _output("ARN of the Analytics table, for the functions' IAM policies")
    alert_topic_arn: str = _output("ARN of the SNS topic every alarm e-mails the owner through")
    edge_publisher_user: str = _output(
        "IAM user whose access key the Worker signs with (aws iam create-access-key --user-name ...)"
    )

    @classmethod
    def descriptions(cls) -> dict[str, str]:
        """Each output's name and description, in declaration order."""
        return {item.name: item.metadata["description"] for item in fields(cls)}

    @classmethod
    def read(cls, value_of: Callable[[str], str]) -> InfraOutputs:
        """The outputs, each looked up by its name (a remote state's `get_string`, a mapping's lookup)."""
        return cls(**{name: value_of(name) for name in cls.descriptions()})

    @classmethod
    def from_outputs(cls, outputs: Mapping[str, str]) -> InfraOutputs:
        """The outputs from `terraform output -json` of the infra stack (`terraform.run.outputs`)."""
        return cls.read(outputs.__getitem__)

    def values(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in self.descriptions()}
