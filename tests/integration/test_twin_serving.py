"""The twin serves concurrent callers as AWS does: one request at a time inside moto, long polls included."""

from __future__ import annotations

import contextlib
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any, Literal

import boto3
import pytest
from werkzeug.serving import make_server

from cv_analytics.local import moto_gaps
from cv_analytics.local.request_meter import RequestMeter

pytestmark = pytest.mark.integration


@contextlib.contextmanager
def _served(application: Callable[..., Any]) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()


@pytest.fixture
def meter() -> RequestMeter:
    return RequestMeter()


@pytest.fixture
def endpoint(meter: RequestMeter) -> Iterator[str]:
    """moto behind the twin's own layers, in the order `twin.serve` stacks them."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    moto = DomainDispatcherApplication(create_backend_app)
    with _served(meter.wrap(moto_gaps.one_request_at_a_time(moto))) as url:
        yield url


def _client(service: Literal["sqs", "scheduler", "iam"], endpoint: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="eu-west-2",
        aws_access_key_id="AKIASERVING",
        aws_secret_access_key="secret",
    )


def _sqs(endpoint: str) -> Any:
    return _client("sqs", endpoint)


def test_requests_reach_the_backends_one_at_a_time() -> None:
    inside = 0
    most_inside = 0
    count = threading.Lock()

    def backend(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        nonlocal inside, most_inside
        with count:
            inside += 1
            most_inside = max(most_inside, inside)
        time.sleep(0.005)
        with count:
            inside -= 1
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]

    def call(url: str) -> None:
        for _ in range(10):
            with urllib.request.urlopen(url, timeout=10) as response:
                assert response.read() == b"ok"

    with _served(moto_gaps.one_request_at_a_time(backend)) as url:
        callers = [threading.Thread(target=call, args=(url,)) for _ in range(8)]
        for caller in callers:
            caller.start()
        for caller in callers:
            caller.join()
    assert most_inside == 1


def test_a_send_is_not_held_up_behind_a_waiting_receive(endpoint: str, meter: RequestMeter) -> None:
    sqs = _sqs(endpoint)
    url = sqs.create_queue(QueueName="serving")["QueueUrl"]
    received: dict[str, Any] = {}
    waiting = threading.Thread(
        target=lambda: received.update(sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5))
    )
    waiting.start()
    time.sleep(0.3)  # the receive is waiting by now
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    waiting.join()
    # The waiting receive got the message: had it held the lock while it waited, the send would have been
    # served only after its wait, and it would have answered empty.
    assert [message["Body"] for message in received["Messages"]] == ["hello"]
    # One long poll is one request to the cost meter.
    assert [r.action for r in meter.records() if r.action == "ReceiveMessage"] == ["ReceiveMessage"]


def test_a_long_poll_of_an_empty_queue_answers_empty_when_its_wait_is_over(endpoint: str) -> None:
    sqs = _sqs(endpoint)
    url = sqs.create_queue(QueueName="empty", Attributes={"ReceiveMessageWaitTimeSeconds": "1"})["QueueUrl"]
    started = time.monotonic()
    answer = sqs.receive_message(QueueUrl=url)  # the queue's own wait: 1 s
    assert "Messages" not in answer
    assert time.monotonic() - started >= 1


def test_a_receive_from_a_missing_queue_gets_sqs_own_error(endpoint: str) -> None:
    from botocore.exceptions import ClientError

    sqs = _sqs(endpoint)
    missing = f"{endpoint}/123456789012/missing"
    with pytest.raises(ClientError) as refused:
        sqs.receive_message(QueueUrl=missing, WaitTimeSeconds=1)
    assert "NonExistentQueue" in str(refused.value) or "QueueDoesNotExist" in str(refused.value)


def test_a_create_schedule_sent_again_with_its_token_answers_the_schedule_it_created(
    endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An SDK that lost the answer to a CreateSchedule sends it again with the same ClientToken: AWS answers
    the schedule it created, a new token for the same name is still a conflict."""
    from moto.scheduler.responses import EventBridgeSchedulerResponse

    # Restored after the test: the patch changes moto's class in this process.
    monkeypatch.setattr(
        EventBridgeSchedulerResponse, "create_schedule", EventBridgeSchedulerResponse.create_schedule
    )
    moto_gaps.scheduler_client_token()
    scheduler = _client("scheduler", endpoint)
    schedule = {
        "Name": "cv-analytics-local-sweep",
        "ScheduleExpression": "rate(15 minutes)",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "Target": {
            "Arn": "arn:aws:lambda:eu-west-2:123456789012:function:sweep",
            "RoleArn": "arn:aws:iam::123456789012:role/scheduler",
        },
    }
    first = scheduler.create_schedule(ClientToken="first-attempt", **schedule)
    again = scheduler.create_schedule(ClientToken="first-attempt", **schedule)
    assert again["ScheduleArn"] == first["ScheduleArn"]
    with pytest.raises(scheduler.exceptions.ConflictException):
        scheduler.create_schedule(ClientToken="another-request", **schedule)
    assert [entry["Name"] for entry in scheduler.list_schedules()["Schedules"]] == [
        "cv-analytics-local-sweep"
    ]


def test_a_call_sent_again_after_its_answer_was_lost_gets_that_answer(endpoint: str) -> None:
    """An SDK whose connection dropped after the twin had answered sends the call again with the same
    invocation id: it gets the first answer, not a conflict with what its first attempt created; a new
    call that creates the same thing is still refused."""
    from botocore.httpsession import URLLib3Session

    iam = _client("iam", endpoint)
    lost: list[int] = []

    def first_answer_lost(request: Any, **_: Any) -> None:
        if not lost:  # the first attempt reaches the twin, and its answer never comes back
            lost.append(URLLib3Session().send(request).status_code)

    iam.meta.events.register("before-send.iam.CreateRole", first_answer_lost)
    role = {"RoleName": "cv-analytics-local-sweep", "AssumeRolePolicyDocument": "{}"}
    created = iam.create_role(**role)
    assert lost == [200]
    assert created["Role"]["RoleName"] == "cv-analytics-local-sweep"
    assert created["Role"]["Arn"] == iam.get_role(RoleName="cv-analytics-local-sweep")["Role"]["Arn"]
    with pytest.raises(iam.exceptions.EntityAlreadyExistsException):
        iam.create_role(**role)
