"""The local AWS twin: moto server with its gaps closed (`moto_gaps`), over TLS, request authentication on.

`./taskw twin-up` starts it in the background (`python -m cv_analytics.local.twin up`), `twin-down` stops
it and `twin-status` says what runs there. Tests and the demo use `running_twin`, which starts one on a free
port in a folder of their own and stops it when the block ends.

On start the twin gets what an AWS account has before Terraform ever runs there: an administrator (the
IAM user whose key Terraform and the operator's commands use, kept in the twin's folder) and the reporter's
verified SES identity (verified by hand once on AWS, outside Terraform). Then request authentication goes on:
from there on every request is signed with a key of a user or role that exists in the twin and is allowed
only what that identity's policies allow.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from cv_analytics.local.moto_server import LOOPBACK, free_port
from cv_analytics.local.processes import stop_process_group
from cv_analytics.local.twin_tls import TlsFiles, ensure_tls_files

ROOT = Path(__file__).resolve().parents[3]
DEFAULT_FOLDER = ROOT / ".cache" / "twin"


def default_folder() -> Path:
    """The twin's folder: TWIN_FOLDER points the twin's commands (and Terraform runs of ENV=local) at a
    twin started elsewhere, .cache/twin otherwise."""
    return Path(os.environ.get("TWIN_FOLDER") or DEFAULT_FOLDER).resolve()


ADMIN_USER = "twin-administrator"
ADMIN_POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)
# A service may try to assume any role; each role's trust policy decides whether it may.
ASSUME_ANY_ROLE_POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}
)
START_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    def environment(self) -> dict[str, str]:
        values = {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key}
        if self.session_token:
            values["AWS_SESSION_TOKEN"] = self.session_token
        return values


@dataclass(frozen=True)
class Twin:
    """A running twin: where it answers, the CA to trust, and the administrator's key."""

    endpoint_url: str
    folder: Path
    region: str
    admin: Credentials
    pid: int
    services: dict[str, Credentials] = field(default_factory=dict)

    @property
    def tls(self) -> TlsFiles:
        return TlsFiles(self.folder)

    def environment(self, credentials: Credentials | None = None) -> dict[str, str]:
        """Variables that point boto3, PynamoDB and Terraform at the twin with `credentials` (the admin's)."""
        return {
            **(credentials or self.admin).environment(),
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_CA_BUNDLE": str(self.tls.ca_certificate),
            "SSL_CERT_FILE": str(self.tls.ca_certificate),
        }

    def session(self, credentials: Credentials | None = None) -> boto3.Session:
        who = credentials or self.admin
        return boto3.Session(
            aws_access_key_id=who.access_key_id,
            aws_secret_access_key=who.secret_access_key,
            aws_session_token=who.session_token,
            region_name=self.region,
        )

    def client(self, service: str, credentials: Credentials | None = None) -> Any:
        return self.session(credentials).client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.endpoint_url,
            verify=str(self.tls.ca_certificate),
            config=Config(retries={"max_attempts": 2, "mode": "standard"}),
        )

    def set_authentication(self, enabled: bool) -> None:
        """moto takes how many requests to let through unchecked, as text/plain: 0 checks every request."""
        _post(self, "/moto-api/reset-auth", b"0" if enabled else b"inf", "text/plain")

    def data(self) -> dict[str, Any]:
        """Everything the twin holds, as moto lists it (`/moto-api/data.json`)."""
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/data.json")  # noqa: S310
        with urllib.request.urlopen(request, timeout=30, context=_tls_context(self.tls)) as response:  # noqa: S310
            loaded: dict[str, Any] = json.loads(response.read())
            return loaded


def _tls_context(tls: TlsFiles) -> Any:
    import ssl

    return ssl.create_default_context(cafile=str(tls.ca_certificate))


def _post(twin: Twin, path: str, body: bytes, content_type: str) -> None:
    request = urllib.request.Request(  # noqa: S310 - the twin's loopback URL
        f"{twin.endpoint_url}{path}", data=body, method="POST", headers={"Content-Type": content_type}
    )
    with urllib.request.urlopen(request, timeout=10, context=_tls_context(twin.tls)) as response:  # noqa: S310
        response.read()


def serve(port: int, folder: Path) -> None:
    """Run the twin in this process until SIGTERM (what `python -m cv_analytics.local.twin serve` does)."""
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import run_simple

    from cv_analytics.local import moto_gaps
    from cv_analytics.local.request_meter import RequestMeter

    moto_gaps.apply(secure_transport=True)  # it serves TLS only, below
    tls = ensure_tls_files(folder)
    os.environ["MOTO_PORT"] = str(port)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    application = RequestMeter().wrap(
        moto_gaps.one_request_at_a_time(
            moto_gaps.with_code_downloads(DomainDispatcherApplication(create_backend_app))
        )
    )
    run_simple(
        LOOPBACK,
        port,
        application,
        threaded=True,
        ssl_context=(str(tls.certificate), str(tls.key)),
        request_handler=MotoRequestHandler,
    )


def _wait_until_ready(url: str, tls: TlsFiles, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the local AWS exited with code {process.returncode} before it answered")
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=1, context=_tls_context(tls)):  # noqa: S310
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise TimeoutError(f"the local AWS at {url} did not answer within {START_TIMEOUT_SECONDS} s")


def _user_with_key(iam: Any, name: str, policy: str) -> Credentials:
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName=name, PolicyDocument=policy)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return Credentials(key["AccessKeyId"], key["SecretAccessKey"])


def _bootstrap(
    twin_url: str, folder: Path, region: str, ses_identity: str
) -> tuple[Credentials, dict[str, Credentials]]:
    """What the account holds before Terraform runs, created before authentication goes on: the
    administrator, the users that act for AWS services (`moto_gaps.service_principals`), and the
    verified SES identity."""
    from cv_analytics.local.moto_gaps import SERVICE_USERS

    anonymous = Twin(twin_url, folder, region, Credentials("bootstrap", "bootstrap"), pid=0)
    iam = anonymous.client("iam")
    admin = _user_with_key(iam, ADMIN_USER, ADMIN_POLICY)
    services = {
        service: _user_with_key(iam, user, ASSUME_ANY_ROLE_POLICY) for service, user in SERVICE_USERS.items()
    }
    anonymous.client("ses").verify_email_identity(EmailAddress=ses_identity)
    return admin, services


def _state_file(folder: Path) -> Path:
    return folder / "twin.json"


def start(port: int, folder: Path, *, region: str, ses_identity: str) -> tuple[Twin, subprocess.Popen[bytes]]:
    """Start a twin process on `port` in `folder`, bootstrap it and switch authentication on.

    The folder is made absolute first: its CA file is handed to Terraform, which runs in each stack's own
    folder, where a relative path (the demo's default `out/`) names nothing.
    """
    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    tls = ensure_tls_files(folder)
    log = (folder / "twin.log").open("ab")
    process = subprocess.Popen(  # noqa: S603 - fixed argument list
        [
            sys.executable,
            "-m",
            "cv_analytics.local.twin",
            "serve",
            "--port",
            str(port),
            "--folder",
            str(folder),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
    )
    log.close()
    url = f"https://{LOOPBACK}:{port}"
    try:
        _wait_until_ready(url, tls, process)
        admin, services = _bootstrap(url, folder, region, ses_identity)
        twin = Twin(url, folder, region, admin, pid=process.pid, services=services)
        twin.set_authentication(True)
    except BaseException:
        stop_process_group(process)
        raise
    _state_file(folder).write_text(
        json.dumps(
            {
                "endpoint_url": url,
                "region": region,
                "pid": process.pid,
                "admin": admin.__dict__,
                "services": {name: key.__dict__ for name, key in services.items()},
            }
        ),
        encoding="utf-8",
    )
    return twin, process


def connect(folder: Path | None = None) -> Twin | None:
    """The twin `twin-up` started in `folder` (`default_folder()`), if it still runs."""
    folder = folder or default_folder()
    path = _state_file(folder)
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    if not _is_twin_process(int(data["pid"])):
        return None
    return Twin(
        data["endpoint_url"],
        folder,
        data["region"],
        Credentials(**data["admin"]),
        pid=int(data["pid"]),
        services={name: Credentials(**key) for name, key in data.get("services", {}).items()},
    )


def _is_twin_process(pid: int) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"cv_analytics.local.twin" in command and b"serve" in command


def stop(folder: Path | None = None) -> bool:
    """Stop the twin started in `folder` (`default_folder()`); whether one was running."""
    folder = folder or default_folder()
    twin = connect(folder)
    _state_file(folder).unlink(missing_ok=True)
    if twin is None:
        return False
    os.killpg(twin.pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while _is_twin_process(twin.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _is_twin_process(twin.pid):
        os.killpg(twin.pid, signal.SIGKILL)
    return True


@contextmanager
def running_twin(folder: Path, *, port: int | None = None, region: str, ses_identity: str) -> Iterator[Twin]:
    """A twin for the length of the block, on a free port unless one is given."""
    twin, process = start(port or free_port(), folder, region=region, ses_identity=ses_identity)
    try:
        yield twin
    finally:
        _state_file(folder).unlink(missing_ok=True)
        stop_process_group(process)


def _account_users() -> frozenset[str]:
    from cv_analytics.local.moto_gaps import SERVICE_USERS

    return frozenset({ADMIN_USER, *SERVICE_USERS.values()})


_ACCOUNT_USERS = _account_users()


def inventory(twin: Twin) -> dict[str, list[str]]:
    """What runs on the twin, by kind: what `twin-status` prints and `destroy` is checked against."""
    sqs = twin.client("sqs")
    dynamodb = twin.client("dynamodb")
    lambda_ = twin.client("lambda")
    iam = twin.client("iam")
    s3 = twin.client("s3")
    account = twin.client("sts").get_caller_identity()["Account"]
    return {
        "state buckets": [b["Name"] for b in s3.list_buckets().get("Buckets", [])],
        "queues": sorted(sqs.list_queues().get("QueueUrls", [])),
        "tables": sorted(dynamodb.list_tables()["TableNames"]),
        "functions": sorted(f["FunctionName"] for f in lambda_.list_functions()["Functions"]),
        "event source mappings": [
            m["UUID"] for m in lambda_.list_event_source_mappings()["EventSourceMappings"]
        ],
        "schedules": sorted(s["Name"] for s in twin.client("scheduler").list_schedules()["Schedules"]),
        "roles": sorted(r["RoleName"] for r in iam.list_roles()["Roles"]),
        "users": sorted(
            u["UserName"] for u in iam.list_users()["Users"] if u["UserName"] not in _ACCOUNT_USERS
        ),
        "groups": sorted(g["GroupName"] for g in iam.list_groups()["Groups"]),
        "log groups": sorted(
            g["logGroupName"] for g in twin.client("logs").describe_log_groups()["logGroups"]
        ),
        "alarms": sorted(a["AlarmName"] for a in twin.client("cloudwatch").describe_alarms()["MetricAlarms"]),
        "topics": sorted(t["TopicArn"] for t in twin.client("sns").list_topics()["Topics"]),
        "budgets": sorted(
            b["BudgetName"]
            for b in twin.client("budgets").describe_budgets(AccountId=account).get("Budgets", [])
        ),
    }


def _local_environment() -> Any:
    from terraform.environment import Environment

    return Environment.load("local")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cv_analytics.local.twin", description=__doc__.splitlines()[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve_command = commands.add_parser("serve", help="run the twin in the foreground (what `up` starts)")
    serve_command.add_argument("--port", type=int, required=True)
    serve_command.add_argument("--folder", type=Path, default=DEFAULT_FOLDER)
    commands.add_parser("up", help="start the twin in the background; returns once it answers")
    commands.add_parser("down", help="stop the twin")
    commands.add_parser("status", help="say what runs on the twin")
    arguments = parser.parse_args(argv)
    if arguments.command == "serve":
        serve(arguments.port, arguments.folder)
        return 0
    if arguments.command == "down":
        print("local AWS stopped" if stop() else "no local AWS was running")
        return 0
    running = connect()
    if arguments.command == "up":
        if running is not None:
            print(f"local AWS already runs at {running.endpoint_url} (pid {running.pid})")
            return 0
        env = _local_environment()
        assert env.local_aws is not None
        twin, _ = start(
            env.local_aws.port,
            default_folder(),
            region=env.region,
            ses_identity=env.reporter.ses_identity,
        )
        print(f"local AWS runs at {twin.endpoint_url} (pid {twin.pid}); `./taskw twin-down` stops it")
        return 0
    if running is None:
        print("no local AWS runs: `./taskw twin-up` starts one")
        return 1
    print(f"local AWS at {running.endpoint_url} (pid {running.pid}), CA {running.tls.ca_certificate}")
    for kind, names in inventory(running).items():
        print(f"  {kind:<22} {len(names):>3}  {', '.join(names)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
