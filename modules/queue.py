"""The FIFO event queue and its FIFO dead-letter queue, built from `contract.resources`."""

from __future__ import annotations

from cdktn_provider_aws.sqs_queue import SqsQueue
from cdktn_provider_aws.sqs_queue_redrive_allow_policy import SqsQueueRedriveAllowPolicy
from cdktn_provider_aws.sqs_queue_redrive_policy import SqsQueueRedrivePolicy
from constructs import Construct

from contract.resources import QueueSpec, QueueWithDlqSpec


def _queue(scope: Construct, id_: str, spec: QueueSpec) -> SqsQueue:
    return SqsQueue(
        scope,
        id_,
        name=spec.name,
        fifo_queue=spec.fifo,
        content_based_deduplication=spec.content_based_deduplication,
        visibility_timeout_seconds=spec.visibility_timeout_seconds,
        message_retention_seconds=spec.message_retention_seconds,
        sqs_managed_sse_enabled=spec.sqs_managed_sse,
    )


class QueueWithDlq(Construct):
    """The queue redrives to the DLQ after `max_receive_count` receives; only that queue may redrive there.

    Both policies are resources of their own, so the two queues are created at the same time and the two
    policies after them: the provider waits about 25 s after creating a queue or setting its attributes
    (until six reads agree), and a redrive policy inline on the queue would make it wait for the DLQ first.

    Input: `contract.resources.QueueWithDlqSpec` (`queue_with_dlq`), shared with the tests' bare-moto queues.
    Outputs: `queue`, `dead_letter`.
    """

    def __init__(self, scope: Construct, id_: str, spec: QueueWithDlqSpec) -> None:
        super().__init__(scope, id_)
        self.dead_letter = _queue(self, "dlq", spec.dead_letter)
        self.queue = _queue(self, "queue", spec.queue)
        SqsQueueRedrivePolicy(
            self,
            "redrive",
            queue_url=self.queue.url,
            redrive_policy=spec.redrive_policy(self.dead_letter.arn),
        )
        # On the DLQ itself, the allow policy (naming the queue) and the queue's redrive policy (naming the
        # DLQ) would make the two queues depend on each other.
        SqsQueueRedriveAllowPolicy(
            self,
            "dlq-redrive-allow",
            queue_url=self.dead_letter.url,
            redrive_allow_policy=QueueWithDlqSpec.redrive_allow_policy(self.queue.arn),
        )
