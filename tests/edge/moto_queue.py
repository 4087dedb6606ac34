"""The moto side of the edge client's end-to-end test: an authenticated FIFO queue, and a drain that checks
every message with the processor's parser.

`setup ENDPOINT`: creates the FIFO queue, an IAM user allowed only sqs:SendMessage on it (the Worker's
publisher, as in production) and a reader, switches signature checking on, prints their keys as JSON.
`drain ENDPOINT QUEUE_URL EXPECTED TIMEOUT`: with the reader's key in the environment, receives and deletes
messages concurrently until EXPECTED arrived or TIMEOUT seconds passed (moto slows down as a queue deepens,
so the queue is drained while the Worker sends), parses every body with `contract.parsing.parse_event` and
prints a JSON report.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import urllib.request
from typing import Any

import boto3

from contract.errors import ContractError
from contract.parsing import parse_event
from cv_analytics.local.moto_server import LOCAL_CREDENTIALS

REGION = "eu-west-2"
QUEUE_NAME = "cv-analytics-events.fifo"
RECEIVERS = 4


def _user_with_policy(iam: Any, name: str, statement: dict[str, Any]) -> dict[str, str]:
    iam.create_user(UserName=name)
    iam.put_user_policy(
        UserName=name,
        PolicyName=f"{name}-policy",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
    )
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"accessKeyId": key["AccessKeyId"], "secretAccessKey": key["SecretAccessKey"]}


def setup(endpoint: str) -> dict[str, Any]:
    session = boto3.session.Session(
        region_name=REGION,
        aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    sqs = session.client("sqs", endpoint_url=endpoint)
    queue_url = sqs.create_queue(
        QueueName=QUEUE_NAME, Attributes={"FifoQueue": "true", "VisibilityTimeout": "30"}
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    iam = session.client("iam", endpoint_url=endpoint)
    publisher = _user_with_policy(
        iam,
        "edge-publisher",
        {
            "Effect": "Allow",
            "Action": ["sqs:SendMessage", "sqs:SendMessageBatch"],
            "Resource": queue_arn,
        },
    )
    reader = _user_with_policy(iam, "test-reader", {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"})
    # Only now: from here on moto accepts nothing but the IAM users' keys.
    request = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth", data=b"0", method="POST", headers={"Content-Type": "text/plain"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()
    return {"queueUrl": queue_url, "region": REGION, "publisher": publisher, "reader": reader}


def drain(
    endpoint: str, queue_url: str, expected: int, timeout: float, reader: dict[str, str]
) -> dict[str, Any]:
    messages: list[dict[str, Any]] = []
    lock = threading.Lock()
    deadline = time.monotonic() + timeout

    def receive() -> None:
        sqs = boto3.client(
            "sqs",
            region_name=REGION,
            endpoint_url=endpoint,
            aws_access_key_id=reader["accessKeyId"],
            aws_secret_access_key=reader["secretAccessKey"],
        )
        while time.monotonic() < deadline:
            with lock:
                if len({message["MessageId"] for message in messages}) >= expected:
                    return
            batch = sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=1,
                MessageSystemAttributeNames=["All"],
            ).get("Messages", [])
            if batch:
                sqs.delete_message_batch(
                    QueueUrl=queue_url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)
                    ],
                )
                with lock:
                    messages.extend(dict(message) for message in batch)
                    # Progress for the sender, which paces itself so the queue stays shallow.
                    print(f"received {len(messages)}", file=sys.stderr, flush=True)

    threads = [threading.Thread(target=receive) for _ in range(RECEIVERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # SQS delivers at least once: a message received twice (same MessageId) is one message.
    unique = {message["MessageId"]: message for message in messages}
    return {
        "received": len(unique),
        "redelivered": len(messages) - len(unique),
        "messages": [_checked(message) for message in unique.values()],
    }


def _checked(message: dict[str, Any]) -> dict[str, Any]:
    attributes = message.get("Attributes", {})
    result: dict[str, Any] = {
        "body": message["Body"],
        "groupId": attributes.get("MessageGroupId"),
        "deduplicationId": attributes.get("MessageDeduplicationId"),
        "contractError": None,
    }
    try:
        parse_event(message["Body"])
    except ContractError as error:
        result["contractError"] = str(error)
    return result


def main(argv: list[str]) -> None:
    command, endpoint, *rest = argv
    if command == "setup":
        report = setup(endpoint)
    elif command == "drain":
        queue_url, expected, timeout = rest
        reader = json.loads(sys.stdin.read())
        report = drain(endpoint, queue_url, int(expected), float(timeout), reader)
    else:
        raise SystemExit(f"unknown command {command!r}: use setup or drain")
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
