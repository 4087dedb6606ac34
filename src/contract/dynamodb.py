"""What the project asks of PynamoDB beyond its models: did a write fail on its condition, and which client.

A failed condition is an answer ("already applied", "someone got there first"), never an error to retry, so
every writer tells it apart from throttling and faults the same way, here. PynamoDB keeps the connection
behind a model private; the transactions need it, and so do the hooks that watch or count DynamoDB calls,
so this is the one place that reaches for it.
"""

from __future__ import annotations

from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import DeleteError, PutError, TransactWriteError, UpdateError
from pynamodb.models import Model

# The error code of a single write whose condition failed.
CONDITIONAL_CHECK_FAILED = "ConditionalCheckFailedException"
# The cancellation reason of a transaction's item whose condition failed.
CANCELLED_BY_CONDITION = "ConditionalCheckFailed"


def condition_failed(error: PutError | UpdateError | DeleteError) -> bool:
    """The write was refused by its condition, not by load or a fault."""
    return error.cause_response_code == CONDITIONAL_CHECK_FAILED


def cancelled_by_condition(error: TransactWriteError) -> bool:
    """A transaction cancelled because one of its conditions failed, not because of load or a conflict.

    Any other cancellation (TransactionConflict, ThrottlingError, ...) is transient, for the caller to raise.
    """
    return any(
        reason is not None and reason.code == CANCELLED_BY_CONDITION for reason in error.cancellation_reasons
    )


def connection_of(model: type[Model]) -> Connection:
    """The connection a model's requests go through (what a `TransactWrite` across models needs)."""
    connection: Connection = model._get_connection().connection
    return connection


def client_of(model: type[Model]) -> Any:
    """The botocore DynamoDB client behind a model, to register call hooks on (`client.meta.events`)."""
    return connection_of(model).client
