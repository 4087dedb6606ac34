"""moto in server mode, in its own process, on a free loopback port: the local AWS.

A separate process (not moto's in-process mock) so that what talks to it crosses a real HTTP boundary, as
the Lambdas and the Worker do on AWS.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cv_analytics.local.processes import stop_process_group

LOOPBACK = "127.0.0.1"
# Credentials moto accepts while request authentication is off; never real ones.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class MotoServer:
    """A running moto server; `endpoint_url` goes into AWS_ENDPOINT_URL."""

    endpoint_url: str
    process: subprocess.Popen[bytes]

    def _post(self, path: str, body: bytes = b"", content_type: str = "application/json") -> None:
        request = urllib.request.Request(  # noqa: S310 - loopback URL built above
            f"{self.endpoint_url}{path}", data=body, method="POST", headers={"Content-Type": content_type}
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            response.read()

    def reset(self) -> None:
        """Forget every resource and request (between tests)."""
        self._post("/moto-api/reset")

    def require_signatures(self, enabled: bool = True) -> None:
        """Switch SigV4 checking on: from then on only keys of IAM users created in moto are accepted.

        moto takes the number of requests to let through before checking, as text/plain; checking is off
        when that number is infinite (a negative number would mean "check every request").
        """
        self._post("/moto-api/reset-auth", b"0" if enabled else b"inf", content_type="text/plain")

    def environment(self, region: str = "eu-west-2") -> dict[str, str]:
        """Variables that point boto3 and PynamoDB at this server."""
        return {
            **LOCAL_CREDENTIALS,
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
        }


def _wait_until_ready(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto server exited with code {process.returncode} before it was ready")
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):  # noqa: S310
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.05)
    raise TimeoutError(f"moto server at {url} was not ready after {timeout:.0f} s")


@contextmanager
def running_moto_server(port: int | None = None, *, log: Path | None = None) -> Iterator[MotoServer]:
    """Start moto server, wait until it answers, and stop it on exit whatever happens."""
    chosen = port or free_port()
    executable = Path(sys.executable).with_name("moto_server")
    command = [str(executable), "-H", LOOPBACK, "-p", str(chosen)]
    sink = log.open("ab") if log else subprocess.DEVNULL
    # Its own session: a Ctrl-C in the terminal reaches only the caller, which stops its users first and
    # then this server, rather than the server dying under them mid-request.
    process = subprocess.Popen(  # noqa: S603 - fixed argument list
        command,
        stdout=sink,
        stderr=subprocess.STDOUT,
        env={**os.environ, **LOCAL_CREDENTIALS},
        start_new_session=True,
    )
    server = MotoServer(endpoint_url=f"http://{LOOPBACK}:{chosen}", process=process)
    try:
        _wait_until_ready(server.endpoint_url, process, timeout=30)
        yield server
    finally:
        stop_process_group(process)
        if log and sink is not subprocess.DEVNULL:
            sink.close()  # type: ignore[union-attr]
