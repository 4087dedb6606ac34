"""What the local AWS twin restores of AWS where moto differs, each patch checked on moto 5.2.5.

Each patch below names the AWS behaviour it restores and what depends on it: the AWS provider's waiters
(which poll until AWS returns what was set), a second `terraform plan` (which must find nothing to change),
or the pipeline. They patch moto's classes in the twin's own process only (`apply` runs in `twin.serve`).
"""

from __future__ import annotations

import json
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

CHECKED_ON_MOTO = "5.2.5"


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def sqs_redrive_allow_policy() -> None:
    """SQS's `RedriveAllowPolicy` queue attribute: moto neither stores nor returns it.

    `aws_sqs_queue_redrive_allow_policy` sets it and then waits until GetQueueAttributes returns it (over 10
    minutes against plain moto, then InvalidAttributeName). AWS stores the JSON text and returns it as set.
    """
    from moto.sqs.models import Queue

    if "RedriveAllowPolicy" not in Queue.BASE_ATTRIBUTES:
        Queue.BASE_ATTRIBUTES.append("RedriveAllowPolicy")
    Queue.redrive_allow_policy = None  # type: ignore[attr-defined]


def sqs_compact_json_attributes() -> None:
    """SQS returns `RedrivePolicy` as compact JSON (`{"deadLetterTargetArn":"...","maxReceiveCount":5}`).

    moto writes it with `json.dumps` defaults (spaces after `:` and `,`), so the provider's state holds a
    string that differs from the configuration and every later plan shows a change. And a policy set to the
    empty string is removed, so GetQueueAttributes no longer names it; moto returned `"RedriveAllowPolicy":
    ""`, which the provider's destroy of `aws_sqs_queue_redrive_allow_policy` waited on until it timed out.
    """
    from moto.sqs.models import Queue

    original = Queue.__dict__["attributes"].fget

    def attributes(self: Queue) -> dict[str, Any]:
        result: dict[str, Any] = original(self)
        if self.redrive_policy:
            result["RedrivePolicy"] = _compact(self.redrive_policy)
        for removed in ("RedrivePolicy", "RedriveAllowPolicy"):
            if not result.get(removed):
                result.pop(removed, None)
        return result

    Queue.attributes = property(attributes)  # type: ignore[assignment,method-assign]


def lambda_logging_config() -> None:
    """Lambda's `LoggingConfig` (log format, log group, log levels): moto drops it.

    AWS stores it with the function (and with each published version) and returns it from GetFunction;
    without it the provider reads the function back without `logging_config` and plans to add it again. The
    twin fills the format (`Text`) and group (`/aws/lambda/<name>`) when they are not given and returns the
    log levels only when they were set: a level returned that the configuration leaves unset makes the
    provider publish a new version on every apply.
    """
    from moto.awslambda.models import LambdaFunction

    original_init = LambdaFunction.__init__
    original_configuration = LambdaFunction.get_configuration
    original_update = LambdaFunction.update_configuration

    def logging_config(function: LambdaFunction, given: dict[str, Any] | None) -> dict[str, Any]:
        return {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{function.function_name}", **(given or {})}

    def init(self: LambdaFunction, account_id: str, spec: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        original_init(self, account_id, spec, *args, **kwargs)
        self.logging_config = logging_config(self, spec.get("LoggingConfig"))  # type: ignore[attr-defined]

    def get_configuration(self: LambdaFunction, on_create: bool = False) -> dict[str, Any]:
        config: dict[str, Any] = original_configuration(self, on_create)
        config["LoggingConfig"] = getattr(self, "logging_config", None) or logging_config(self, None)
        return config

    def update_configuration(self: LambdaFunction, config_updates: dict[str, Any]) -> Any:
        if "LoggingConfig" in config_updates:
            self.logging_config = logging_config(self, config_updates["LoggingConfig"])  # type: ignore[attr-defined]
        return original_update(self, config_updates)

    LambdaFunction.__init__ = init  # type: ignore[method-assign]
    LambdaFunction.get_configuration = get_configuration  # type: ignore[method-assign]
    LambdaFunction.update_configuration = update_configuration  # type: ignore[method-assign]


def lambda_event_source_mapping_function_arn() -> None:
    """An event source mapping's `FunctionArn` is the ARN it was created with: the alias's, when given one.

    moto resolves an alias to the version behind it and stores that version's ARN, so the provider sees the
    mapping's function change on every plan, and a local poller following the mapping would keep invoking
    the version of the day it was created instead of following the alias through a rollback. moto also
    hooks the mapping into the queue and invokes the function on each SendMessage, in Docker; the twin
    leaves delivery to the local event source, as AWS leaves it to Lambda's pollers.
    """
    from moto.awslambda.models import LambdaBackend
    from moto.awslambda.utils import make_function_arn
    from moto.sqs.models import sqs_backends

    original = LambdaBackend.create_event_source_mapping

    def create_event_source_mapping(self: LambdaBackend, spec: dict[str, Any]) -> Any:
        given = str(spec.get("FunctionName", ""))
        mapping = original(self, spec)
        arn = (
            given if given.startswith("arn:") else make_function_arn(self.region_name, self.account_id, given)
        )
        # moto would also invoke the function itself on every SendMessage, in Docker (not on these machines);
        # on AWS the mapping's poller is not part of SQS: the local event source plays it instead.
        for queue in sqs_backends[self.account_id][self.region_name].queues.values():
            queue.lambda_event_source_mappings.pop(mapping.function_arn, None)
        mapping.function_arn = arn
        return mapping

    LambdaBackend.create_event_source_mapping = create_event_source_mapping  # type: ignore[method-assign]


def iam_bool_condition() -> None:
    """IAM's `Bool` condition operator, with a missing key not matching.

    moto evaluates `StringEquals` only and treats every other operator as met, so the state bucket's
    `Deny s3:* if aws:SecureTransport is false` denied every request, TLS or not. AWS compares the value as
    a boolean, and a condition on a key the request does not carry does not match.
    """
    from moto.iam import policy_conditions

    def bool_operation(expected: list[str] | str, actual: str) -> bool:
        wanted = [expected] if isinstance(expected, str) else expected
        return actual.lower() in {str(value).lower() for value in wanted}

    policy_conditions.CONDITION_OPERATIONS["Bool"] = bool_operation  # type: ignore[assignment]
    original = policy_conditions.TrustCondition.verify_condition

    def verify_condition(self: policy_conditions.TrustCondition, actual_values: list[str]) -> bool:
        if self._condition == "Bool" and len(actual_values) < len(self.context_keys):
            return False
        return original(self, actual_values)

    policy_conditions.TrustCondition.verify_condition = verify_condition  # type: ignore[method-assign]


def iam_unmet_condition_does_not_apply() -> None:
    """A statement whose condition is not met has no effect; moto turned it into an explicit deny.

    With that, `Deny ... if aws:SecureTransport is false` denied the requests that came over TLS. AWS
    evaluates a statement only when its action, resource and conditions all match.
    """
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult

    original = IAMPolicyStatement.is_action_permitted

    def is_action_permitted(
        self: IAMPolicyStatement,
        action: str,
        resource: str = "*",
        principal: str | None = None,
        incoming_condition_values: dict[str, str] | None = None,
    ) -> PermissionResult:
        if self._statement.get("Condition") and not self._check_conditions(incoming_condition_values):
            concerned = (
                not self._check_element_matches("NotAction", action)
                if "NotAction" in self._statement
                else self._check_element_matches("Action", action)
            )
            if concerned:
                return PermissionResult.NEUTRAL
        result: PermissionResult = original(self, action, resource, principal, incoming_condition_values)
        return result

    IAMPolicyStatement.is_action_permitted = is_action_permitted  # type: ignore[method-assign]


def s3_secure_transport(secure: bool) -> None:
    """S3 evaluates a bucket policy with the request's `aws:SecureTransport`; moto passes no context keys.

    `secure` is whether the twin serves TLS (it does; see `twin_tls`), so the state bucket's TLS-only policy
    holds on the twin exactly as it does on AWS.
    """
    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.s3.models import FakeBucket

    def get_permission(self: FakeBucket, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        context = {"aws:SecureTransport": "true" if secure else "false"}
        return IAMPolicy(self.policy.decode()).is_action_permitted(
            action, resource, incoming_condition_values=context
        )

    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]


# The IAM users that act for AWS services on the twin (see `service_principals`).
SERVICE_USERS = {
    "lambda.amazonaws.com": "twin-service-lambda",
    "scheduler.amazonaws.com": "twin-service-scheduler",
}
# Item actions inside a transaction, as IAM authorises them (TransactWriteItems/TransactGetItems themselves
# are not IAM actions).
TRANSACTION_ITEM_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}


def signed_empty_payload() -> None:
    """A SigV4 signature over a GET, HEAD or DELETE without a body signs the empty payload.

    moto recomputes the signature over its parsed request data when the body is empty, which for Lambda's
    REST GETs (GetFunction, ListFunctions, GetAlias, ListVersionsByFunction) is the header dict: with request
    authentication on, every such call failed with SignatureDoesNotMatch, the provider's waiters included.
    """
    from moto.iam.access_control import IAMRequestBase

    original = IAMRequestBase._create_aws_request

    def create_aws_request(self: IAMRequestBase) -> Any:
        if not self._body and self._method in ("GET", "HEAD", "DELETE"):
            self._data = b""  # type: ignore[assignment]
        return original(self)

    IAMRequestBase._create_aws_request = create_aws_request  # type: ignore[method-assign]


def service_principals() -> None:
    """A role that trusts an AWS service (`Principal: {"Service": "lambda.amazonaws.com"}`) is assumed by it.

    On AWS, Lambda assumes a function's execution role through its service principal. The twin has no
    service principals and moto compares only `Principal.AWS`, so the twin's stand-in for each service is
    one IAM user (SERVICE_USERS): a trust policy naming the service admits that user and nobody else, so
    a role that does not trust Lambda still cannot be assumed for a function.
    """
    from moto.iam.access_control import IAMPolicyStatement

    original = IAMPolicyStatement._check_principal

    def check_principal(self: IAMPolicyStatement, principal: str) -> bool:
        expected = self._statement.get("Principal")
        if isinstance(expected, dict) and "Service" in expected:
            services = expected["Service"]
            services = [services] if isinstance(services, str) else services
            users = {SERVICE_USERS[s] for s in services if s in SERVICE_USERS}
            if any(principal.endswith(f":user/{user}") for user in users):
                return True
            if "AWS" not in expected:
                return False
        return bool(original(self, principal))

    IAMPolicyStatement._check_principal = check_principal  # type: ignore[method-assign]


def json_protocol_access_denied() -> None:
    """A JSON-protocol service (DynamoDB, SQS, Scheduler, Logs, ...) refuses a request in JSON:
    `{"__type": "...#AccessDeniedException", "message": ...}` with HTTP 400.

    moto answered every refusal with the Query protocol's XML and HTTP 403, which the SDK cannot parse for
    these services: the caller saw "An error occurred (403)" with no error code, so code that tells an
    access problem from a throttle or a failed condition by its code could not. Installed first: the
    per-service authorisation patches below call through it.
    """
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.core.exceptions import AccessDeniedError, JsonRESTError

    original = ActionAuthenticatorMixin._authenticate_and_authorize_normal_action

    def authorize(self: Any, resource: str = "*") -> None:
        try:
            original(self, resource)
        except AccessDeniedError as denied:
            content_type = str(self.headers.get("Content-Type", ""))
            if "X-Amz-Target" not in self.headers and not content_type.startswith("application/x-amz-json"):
                raise
            raise JsonRESTError("AccessDeniedException", denied.message) from denied

    ActionAuthenticatorMixin._authenticate_and_authorize_normal_action = authorize  # type: ignore[method-assign]


def dynamodb_request_resources() -> None:
    """DynamoDB authorises a request against the table (or index) it names, and a batch or transaction per
    table and item action.

    moto determines a request's resource for SQS, IAM and STS only and checks every other service against
    `*`, so a policy scoped to a table ARN denies every DynamoDB call. On AWS, Query on an index is
    authorised on `table/<name>/index/<index>`, and TransactWriteItems is authorised as the PutItem,
    UpdateItem, DeleteItem and ConditionCheckItem it holds, each on its own table.
    """
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler._authenticate_and_authorize_normal_action

    def table_arn(self: DynamoHandler, name: str, index: str | None = None) -> str:
        arn = f"arn:{self.partition}:dynamodb:{self.region}:{self.current_account}:table/{name}"
        return f"{arn}/index/{index}" if index else arn

    def checks(self: DynamoHandler, action: str, body: dict[str, Any]) -> list[tuple[str, str]]:
        if action in ("TransactWriteItems", "TransactGetItems"):
            found = []
            for item in body.get("TransactItems", []):
                for kind, request in item.items():
                    found.append((TRANSACTION_ITEM_ACTIONS[kind], table_arn(self, request["TableName"])))
            return found
        if action in ("BatchWriteItem", "BatchGetItem"):
            return [(action, table_arn(self, name)) for name in body.get("RequestItems", {})]
        if "TableName" in body:
            return [(action, table_arn(self, body["TableName"], body.get("IndexName")))]
        return [(action, "*")]

    def authorize(self: DynamoHandler, resource: str = "*") -> None:
        body = self.body if isinstance(self.body, dict) else {}
        action = self._get_action()
        for item_action, arn in checks(self, action, body):
            self._get_action = _returning(item_action)  # type: ignore[method-assign]
            try:
                original(self, arn)
            finally:
                del self._get_action

    DynamoHandler._authenticate_and_authorize_normal_action = authorize  # type: ignore[method-assign,assignment]


def _returning(value: str) -> Callable[[], str]:
    return lambda: value


# SQS's batch calls are authorised as the action of each entry: there is no sqs:DeleteMessageBatch in IAM.
SQS_BATCH_ACTIONS = {
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
    "SendMessageBatch": "SendMessage",
}


def sqs_batch_actions() -> None:
    """SQS authorises DeleteMessageBatch, ChangeMessageVisibilityBatch and SendMessageBatch as DeleteMessage,
    ChangeMessageVisibility and SendMessage: the batch names are not IAM actions.

    moto checked the batch name itself, so a role allowed `sqs:DeleteMessage` (all a Lambda event source
    needs) was refused the poller's DeleteMessageBatch.
    """
    from moto.sqs.responses import SQSResponse

    original = SQSResponse._authenticate_and_authorize_normal_action

    def authorize(self: SQSResponse, resource: str = "*") -> None:
        action = self._get_action()
        if action not in SQS_BATCH_ACTIONS:
            original(self, resource)
            return
        self._get_action = _returning(SQS_BATCH_ACTIONS[action])  # type: ignore[method-assign]
        try:
            original(self, resource)
        finally:
            del self._get_action

    SQSResponse._authenticate_and_authorize_normal_action = authorize  # type: ignore[method-assign,assignment]


def ses_identity_resource() -> None:
    """SES authorises a send against the identity that covers its `Source`: that address or its domain.

    moto checks SES against `*`, so a policy naming `identity/<address>` (the reporter's) denies every send.
    """
    from moto.ses.responses import EmailResponse

    def determine_resource(self: EmailResponse) -> str:
        source = str(self._get_param("Source") or "")
        address = source.rpartition("<")[2].rstrip(">").strip()
        verified = set(self.backend.email_identities)
        for identity in (address, address.rpartition("@")[2]):
            if identity and identity in verified:
                return f"arn:{self.partition}:ses:{self.region}:{self.current_account}:identity/{identity}"
        return "*"

    EmailResponse._determine_resource = determine_resource  # type: ignore[attr-defined]


CODE_PATH = "/_twin/lambda-code/"


def lambda_code_location() -> None:
    """GetFunction returns `Code.Location`, a URL the function's zip (of that version) downloads from.

    AWS always returns one (a presigned S3 URL); moto returns none, or a URL of a bucket that does not
    exist, for code uploaded as a zip. The local
    Lambda runtime downloads each version's code from it, so it runs the version an alias points to, not
    the working tree. `with_code_downloads` serves the URLs.
    """
    import os
    from urllib.parse import quote

    from moto.awslambda.models import LambdaFunction

    original = LambdaFunction.get_code

    def get_code(self: LambdaFunction) -> dict[str, Any]:
        response: dict[str, Any] = original(self)
        if self.package_type == "Zip" and bytes(getattr(self, "code_bytes", None) or b""):
            base = f"https://127.0.0.1:{os.environ['MOTO_PORT']}{CODE_PATH}"
            digest = quote(self.code_sha_256, safe="")
            path = f"{self.account_id}/{self.region}/{self.function_name}/{self.version}/{digest}"
            response["Code"] = {"RepositoryType": "S3", "Location": base + path}
        return response

    LambdaFunction.get_code = get_code  # type: ignore[method-assign]


# The mail SES accepted (what moto lists in /moto-api/data.json, which fails on the twin: listing Lambda
# functions there reaches for Docker). Read only by the local runtime, as a recipient's mailbox.
MAIL_PATH = "/_twin/ses/raw-messages"


def _sent_mail(start_response: Callable[..., Any]) -> list[bytes]:
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    messages = []
    for region, backend in ses_backends[DEFAULT_ACCOUNT_ID].items():
        for message in backend.sent_messages:
            if hasattr(message, "raw_data"):
                messages.append({"region": region, "raw_data": message.raw_data})
    body = json.dumps({"ses": {"RawMessage": messages}}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def with_code_downloads(application: Callable[..., Any]) -> Callable[..., Any]:
    """The WSGI application that serves `lambda_code_location`'s URLs and hands everything else to moto."""
    from moto.awslambda.models import lambda_backends

    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = str(environ.get("PATH_INFO", ""))
        if path == MAIL_PATH:
            return _sent_mail(start_response)
        if not path.startswith(CODE_PATH):
            return application(environ, start_response)
        try:
            account, region, name, version, _ = path[len(CODE_PATH) :].split("/", 4)
            function = lambda_backends[account][region].get_function(name, version)
            body = bytes(function.code_bytes)
        except Exception:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"NoSuchKey"]
        start_response("200 OK", [("Content-Type", "application/zip"), ("Content-Length", str(len(body)))])
        return [body]

    return serve


# One lock guards moto's backends: every request, and whatever else in the twin's process reads them (the
# request meter's item lookups), holds it.
BACKENDS = threading.RLock()
# Whether this thread is serving a request, so holds BACKENDS once for it.
_serving = threading.local()


def _long_poll_waits_without_the_lock() -> None:
    """SQS's long poll waits for a message with the backends free, so the send it waits for can happen."""
    from moto.sqs.models import Queue

    original = Queue.wait_for_messages
    if getattr(original, "releases_backends", False):
        return

    def wait_for_messages(self: Queue, timeout: int) -> None:
        if not getattr(_serving, "request", False):
            original(self, timeout)
            return
        BACKENDS.release()
        try:
            original(self, timeout)
        finally:
            BACKENDS.acquire()

    wait_for_messages.releases_backends = True  # type: ignore[attr-defined]
    Queue.wait_for_messages = wait_for_messages  # type: ignore[method-assign]


def one_request_at_a_time(application: Callable[..., Any]) -> Callable[..., Any]:
    """Concurrent requests that do not corrupt each other, as AWS's services never do.

    moto's backends are not thread-safe, and the twin serves Terraform's parallel requests on threads:
    checked on moto 5.2.5, 16 clients creating, reading and listing IAM roles at once got 1 to 5 answers in
    12,000 as HTTP 500, "dictionary changed size during iteration" (a role looked up while another was
    inserted). The AWS SDKs retry a 500, so a create that had taken effect before its 500 fails its retry
    with EntityAlreadyExists and the apply with it (seen once, on CreateRole). Requests therefore reach moto
    one at a time. Its work is Python under one interpreter lock anyway; the one wait it has, SQS's long
    poll (a condition a send notifies, waited on a second at a time), waits with the lock released.
    """
    _long_poll_waits_without_the_lock()
    answered = AnsweredInvocations()

    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        with BACKENDS:
            earlier = answered.earlier_answer(environ)
            if earlier is not None:
                start_response(earlier.status, list(earlier.headers))
                return [earlier.body]
            _serving.request = True
            heads: list[tuple[str, list[tuple[str, str]]]] = []

            def recording(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
                heads.append((status, headers))
                return start_response(status, headers, *rest)

            try:
                body = list(application(environ, recording))
            finally:
                _serving.request = False
            if heads:
                answered.remember(environ, heads[-1][0], heads[-1][1], body)
            return body

    return serve


@dataclass(frozen=True)
class _Answer:
    status: str
    headers: tuple[tuple[str, str], ...]
    body: bytes


class AnsweredInvocations:
    """A request the SDK sends again after the twin answered it gets that answer, not a second execution.

    Every AWS SDK names each call with an `amz-sdk-invocation-id` that its retries of the call keep. When
    the answer to a call is lost on its way back (the connection drops after the twin has answered), the SDK
    sends the call again; a create then fails as a conflict with what its own first attempt created. The
    twin's log shows it twice on Terraform's applies, each answered 201 or 200 and its retry, in the same
    second, refused: CreateSchedule ("Schedule ... already exists") and CreateAlias ("Alias already exists"),
    each failing the apply and every twin test after it. AWS's answers do reach the caller; this restores
    that, for the retry of a call the twin answered with success: its answer again. GET and HEAD are left
    alone (a retry reads again, as on AWS), and so is a call answered with an error (its retry runs, as on
    AWS). It keeps the last KEPT answers of at most KEPT_BYTES each: a retry comes within seconds. In one
    full test run, 9 of about 2,000 calls came again after a success, all from Terraform's AWS provider.
    """

    KEPT = 4096
    KEPT_BYTES = 256 * 1024
    HEADER = "HTTP_AMZ_SDK_INVOCATION_ID"

    def __init__(self) -> None:
        self._answers: OrderedDict[tuple[str, str, str], _Answer] = OrderedDict()

    @classmethod
    def _key(cls, environ: dict[str, Any]) -> tuple[str, str, str] | None:
        invocation = environ.get(cls.HEADER)
        method = environ.get("REQUEST_METHOD", "GET")
        if not invocation or method in {"GET", "HEAD"}:
            return None
        return invocation, method, environ.get("PATH_INFO", "")

    def earlier_answer(self, environ: dict[str, Any]) -> _Answer | None:
        key = self._key(environ)
        if key is None or key not in self._answers:
            return None
        answer = self._answers[key]
        _, method, path = key
        call = environ.get("HTTP_X_AMZ_TARGET") or path
        attempt = environ.get("HTTP_AMZ_SDK_REQUEST", "")
        caller = environ.get("HTTP_USER_AGENT", "").split(" ", 1)[0]
        print(
            f"cv_analytics twin: answered a retried {method} {call} ({attempt}; {caller}) as before "
            f"({answer.status})",
            file=sys.stderr,
        )
        return answer

    def remember(
        self, environ: dict[str, Any], status: str, headers: list[tuple[str, str]], body: list[bytes]
    ) -> None:
        key = self._key(environ)
        size = sum(len(part) for part in body)
        if key is None or not status.startswith("2") or size > self.KEPT_BYTES:
            return
        self._answers[key] = _Answer(status, tuple(headers), b"".join(body))
        while len(self._answers) > self.KEPT:
            self._answers.popitem(last=False)


def scheduler_client_token() -> None:
    """CreateSchedule is idempotent for its `ClientToken`: the same request again answers the schedule it
    created, as AWS does, instead of ConflictException.

    The AWS SDKs fill the token in and send it unchanged when they retry a request whose answer they did
    not get, and a caller may send it again itself in a new call. moto ignores the token ("not yet
    implemented"), so such a request failed with "Schedule ... already exists" although the schedule was
    the one asked for (an apply failed that way once). An SDK's own retry is also answered by
    `AnsweredInvocations`, for every service; this keeps the token's meaning for a new call as well.
    """
    from moto.scheduler.responses import EventBridgeSchedulerResponse

    original = EventBridgeSchedulerResponse.create_schedule
    created: dict[tuple[str, str, str, str], str] = {}

    def create_schedule(self: EventBridgeSchedulerResponse) -> str:
        token = self._get_param("ClientToken")
        group = self._get_param("GroupName") or "default"
        name = self.uri.split("?")[0].split("/")[-1]
        key = (self.current_account, self.region, group, name)
        existing = self.scheduler_backend.schedule_groups.get(group)
        if token and created.get(key) == token and existing is not None and name in existing.schedules:
            return json.dumps({"ScheduleArn": existing.schedules[name].arn})
        answer = original(self)
        if token:
            created[key] = str(token)
        return answer

    EventBridgeSchedulerResponse.create_schedule = create_schedule  # type: ignore[method-assign]


def _same_notification(stored: dict[str, Any], asked: dict[str, Any]) -> bool:
    """Budgets names a notification by its type, operator, threshold and threshold type."""
    keys = ("NotificationType", "ComparisonOperator", "ThresholdType")
    defaults = {"ThresholdType": "PERCENTAGE"}
    same = all(stored.get(k, defaults.get(k)) == asked.get(k, defaults.get(k)) for k in keys)
    return same and float(stored["Threshold"]) == float(asked["Threshold"])


def budgets_subscribers_and_tags() -> None:
    """Budgets' DescribeSubscribersForNotification, and tags on a budget: moto has neither.

    The provider reads every notification's subscribers back after creating `aws_budgets_budget` (moto
    answered NotImplementedError, which the provider retried for minutes), and reads the budget's tags,
    which the provider's default tags set. AWS returns the subscribers the budget was created with and the
    tags set on `arn:aws:budgets::<account>:budget/<name>`, from CreateBudget's `ResourceTags` or TagResource.
    """
    from moto.budgets.models import BudgetsBackend
    from moto.budgets.responses import BudgetsResponse

    original_delete = BudgetsBackend.delete_budget

    def tags_of(backend: BudgetsBackend) -> dict[str, dict[str, str]]:
        if not hasattr(backend, "resource_tags"):
            backend.resource_tags = {}  # type: ignore[attr-defined]
        found: dict[str, dict[str, str]] = backend.resource_tags  # type: ignore[attr-defined]
        return found

    def arn(account_id: str, name: str) -> str:
        return f"arn:aws:budgets::{account_id}:budget/{name}"

    def delete_budget(self: BudgetsBackend, account_id: str, budget_name: str) -> None:
        original_delete(self, account_id, budget_name)
        tags_of(self).pop(arn(account_id, budget_name), None)

    def create_budget_response(self: BudgetsResponse) -> str:
        account_id = self._get_param("AccountId")
        budget = self._get_param("Budget")
        self.backend.create_budget(
            account_id=account_id,
            budget=budget,
            notifications=self._get_param("NotificationsWithSubscribers", []),
        )
        given = {t["Key"]: t["Value"] for t in self._get_param("ResourceTags", [])}
        tags_of(self.backend)[arn(account_id, budget["BudgetName"])] = given
        return "{}"

    def describe_subscribers_for_notification(self: BudgetsResponse) -> str:
        account_id = self._get_param("AccountId")
        name = self._get_param("BudgetName")
        asked = self._get_param("Notification")
        budget = self.backend.budgets[account_id][name]
        found = [n.subscribers for n in budget.notifications if _same_notification(n.details, asked)]
        return json.dumps({"Subscribers": found[0] if found else []})

    def list_tags_for_resource(self: BudgetsResponse) -> str:
        tags = tags_of(self.backend).get(self._get_param("ResourceARN"), {})
        return json.dumps({"ResourceTags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]})

    def tag_resource(self: BudgetsResponse) -> str:
        tags = tags_of(self.backend).setdefault(self._get_param("ResourceARN"), {})
        tags.update({t["Key"]: t["Value"] for t in self._get_param("ResourceTags", [])})
        return "{}"

    def untag_resource(self: BudgetsResponse) -> str:
        tags = tags_of(self.backend).setdefault(self._get_param("ResourceARN"), {})
        for key in self._get_param("ResourceTagKeys", []):
            tags.pop(key, None)
        return "{}"

    BudgetsBackend.delete_budget = delete_budget  # type: ignore[method-assign]
    BudgetsResponse.create_budget = create_budget_response  # type: ignore[method-assign]
    BudgetsResponse.describe_subscribers_for_notification = describe_subscribers_for_notification  # type: ignore[attr-defined]
    BudgetsResponse.list_tags_for_resource = list_tags_for_resource  # type: ignore[attr-defined]
    BudgetsResponse.tag_resource = tag_resource  # type: ignore[attr-defined]
    BudgetsResponse.untag_resource = untag_resource  # type: ignore[attr-defined]


PATCHES: tuple[Callable[[], None], ...] = (
    json_protocol_access_denied,
    sqs_redrive_allow_policy,
    sqs_compact_json_attributes,
    lambda_logging_config,
    lambda_event_source_mapping_function_arn,
    iam_bool_condition,
    iam_unmet_condition_does_not_apply,
    signed_empty_payload,
    service_principals,
    dynamodb_request_resources,
    ses_identity_resource,
    sqs_batch_actions,
    lambda_code_location,
    budgets_subscribers_and_tags,
    scheduler_client_token,
)


def apply(*, secure_transport: bool) -> None:
    """Install every patch; refuses a moto other than the version they were checked on.

    `secure_transport`: whether the twin serves TLS, which S3's bucket policies see as aws:SecureTransport.
    """
    import moto

    if moto.__version__ != CHECKED_ON_MOTO:
        raise RuntimeError(f"moto_gaps was checked on moto {CHECKED_ON_MOTO}, this is {moto.__version__}")
    for patch in PATCHES:
        patch()
    s3_secure_transport(secure_transport)
