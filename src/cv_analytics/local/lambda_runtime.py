"""The local stand-in for the Lambda service: runs a deployed function version as Lambda would run it.

For each function it downloads the version's zip from the location Lambda gives (and checks its
CodeSha256), assumes the function's execution role through STS as the Lambda service does, and starts a
`lambda_host` process with exactly that function's environment variables plus the runtime's own (the
role's temporary credentials, region, LAMBDA_TASK_ROOT, _HANDLER, ...). So the handler path, the
variables and the role's policy are the ones Terraform deployed: a wrong handler fails to import, a
missing variable fails the cold start, and a missing IAM action is refused by the twin.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import platform
import subprocess
import sys
import threading
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from cv_analytics.local.deployed import DeployedFunction
from cv_analytics.local.processes import stop_process_group
from cv_analytics.local.twin import Credentials, Twin, _tls_context

LAMBDA_SERVICE = "lambda.amazonaws.com"
# Variables of the execution environment itself that a handler may read, passed on as Lambda does.
PASSED_FROM_HOST = (
    "PATH",
    "LANG",
    "TZ",
    "PYTHONDONTWRITEBYTECODE",
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION",
)
START_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class Invocation:
    """One invocation as Lambda bills it: the function, its configured memory and the handler's time."""

    function: str
    memory_mb: int
    duration_ms: float


class InvocationLog:
    """Every invocation this process made, in order (what `cv-analytics cost` counts and times)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[Invocation] = []

    def add(self, invocation: Invocation) -> None:
        with self._lock:
            self._entries.append(invocation)

    def mark(self) -> int:
        with self._lock:
            return len(self._entries)

    def since(self, mark: int) -> list[Invocation]:
        with self._lock:
            return self._entries[mark:]


INVOCATIONS = InvocationLog()


class RoleSessions:
    """Whose temporary access key is whose: the session name each role was assumed with, by key id.

    The twin's request meter knows a request's access key only; this names the function (or the event
    source polling for it) that made it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._names: dict[str, str] = {}

    def add(self, access_key_id: str, session_name: str) -> None:
        with self._lock:
            self._names[access_key_id] = session_name

    def names(self) -> dict[str, str]:
        with self._lock:
            return dict(self._names)


ROLE_SESSIONS = RoleSessions()


class FunctionError(RuntimeError):
    """The handler raised: Lambda reports the invocation as failed (`FunctionError: Unhandled`)."""


def assume_role(twin: Twin, role_arn: str, session_name: str, service: str = LAMBDA_SERVICE) -> Credentials:
    """Temporary credentials of `role_arn`, assumed by `service` as its trust policy allows."""
    sts = twin.client("sts", twin.services[service])
    granted = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name[:64], DurationSeconds=3600)
    key = granted["Credentials"]
    ROLE_SESSIONS.add(key["AccessKeyId"], session_name)
    return Credentials(key["AccessKeyId"], key["SecretAccessKey"], key["SessionToken"])


def code_folder(twin: Twin, function: DeployedFunction, cache: Path) -> Path:
    """The version's code, unpacked once per CodeSha256 (Lambda's own content address)."""
    safe = function.code_sha256.replace("/", "_").replace("+", "-").rstrip("=")
    folder = cache / safe
    if (folder / ".complete").exists():
        return folder
    location = function.code_location
    if not location.startswith("https://"):
        raise RuntimeError(f"{function.name}: code location {location} is not an HTTPS URL")
    with urllib.request.urlopen(location, timeout=30, context=_tls_context(twin.tls)) as response:  # noqa: S310
        body = response.read()
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    if digest != function.code_sha256:
        raise RuntimeError(
            f"{function.name}:{function.version} code has sha256 {digest}, Lambda says {function.code_sha256}"
        )
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        foreign = foreign_native_packages(archive.namelist())
        archive.extractall(folder, [m for m in archive.namelist() if _top_level(m) not in foreign])
    (folder / ".from-this-machine").write_text("".join(f"{name}\n" for name in sorted(foreign)))
    (folder / ".complete").touch()
    return folder


def _top_level(member: str) -> str:
    first = member.split("/", 1)[0]
    return first.split(".", 1)[0] if "/" not in member else first


def foreign_native_packages(members: list[str]) -> set[str]:
    """Top-level packages of the zip with compiled extensions for another machine (Lambda's arm64).

    They cannot load here; this machine's own copy of the same pinned version (the dev lock pins what the
    function locks) is imported instead, and `.from-this-machine` in the code folder lists them. Everything
    else, the function's own code first, comes from the zip.
    """
    machine = platform.machine()
    return {_top_level(m) for m in members if m.endswith(".so") and machine not in m.rsplit("/", 1)[-1]}


def function_environment(
    twin: Twin, function: DeployedFunction, credentials: Credentials, task_root: Path
) -> dict[str, str]:
    """The function's variables and the ones Lambda's runtime adds; nothing else from this process."""
    runtime = {
        **credentials.environment(),
        "AWS_REGION": twin.region,
        "AWS_DEFAULT_REGION": twin.region,
        "AWS_ENDPOINT_URL": twin.endpoint_url,
        "AWS_CA_BUNDLE": str(twin.tls.ca_certificate),
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "AWS_LAMBDA_FUNCTION_VERSION": function.version,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.name}",
        "LAMBDA_TASK_ROOT": str(task_root),
        "_HANDLER": function.handler,
    }
    passed = {name: os.environ[name] for name in PASSED_FROM_HOST if name in os.environ}
    return {**passed, **function.environment, **runtime}


def _drain(stream: IO[bytes], log: Path) -> None:
    with log.open("ab") as sink:
        for line in stream:
            sink.write(line)
            sink.flush()


@dataclass
class LocalFunction:
    """A running execution environment of one function version; `invoke` is Lambda's synchronous Invoke."""

    deployed: DeployedFunction
    process: subprocess.Popen[bytes]
    lock: threading.Lock

    def invoke(self, event: Any) -> Any:
        deadline_ms = int(time.time() * 1000) + self.deployed.timeout_seconds * 1000
        request = json.dumps({"event": event, "deadline_ms": deadline_ms}).encode() + b"\n"
        with self.lock:
            assert self.process.stdin is not None and self.process.stdout is not None
            self.process.stdin.write(request)
            self.process.stdin.flush()
            line = self.process.stdout.readline()
        if not line:
            raise FunctionError(
                f"{self.deployed.name}:{self.deployed.version} exited (code {self.process.poll()})"
            )
        reply = json.loads(line)
        INVOCATIONS.add(Invocation(self.deployed.name, self.deployed.memory_mb, float(reply["duration_ms"])))
        if "error" in reply:
            raise FunctionError(f"{reply['error']}: {reply['message']}")
        return reply["result"]


@contextmanager
def running_function(
    twin: Twin, function: DeployedFunction, *, cache: Path, log: Path, clock_offset_ms: int = 0
) -> Iterator[LocalFunction]:
    """The function's execution environment for the length of the block (a cold start, then warm)."""
    credentials = assume_role(twin, function.role_arn, function.name)
    task_root = code_folder(twin, function, cache)
    log.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "cv_analytics.local.lambda_host", "--alias-arn", function.alias_arn]
    if clock_offset_ms:
        command += ["--clock-offset-ms", str(clock_offset_ms)]
    process = subprocess.Popen(  # noqa: S603 - fixed argument list
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=function_environment(twin, function, credentials, task_root),
        cwd=task_root,
        start_new_session=True,
    )
    assert process.stderr is not None and process.stdout is not None
    threading.Thread(target=_drain, args=(process.stderr, log), daemon=True).start()
    try:
        ready = process.stdout.readline()
        if not ready:
            raise FunctionError(
                f"{function.name}:{function.version} failed its cold start "
                f"(handler {function.handler}); see {log}"
            )
        yield LocalFunction(function, process, threading.Lock())
    finally:
        if process.stdin:
            with suppress(OSError):
                process.stdin.close()
        stop_process_group(process, grace_seconds=5)
