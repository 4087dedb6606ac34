"""The example Worker (src/edge/example) in workerd through Miniflare, as a child process on a loopback port.

A small Node launcher (`src/edge/scripts/serve-example.mjs`) owns Miniflare and prints the Worker's URL; this
module builds the Worker, starts the launcher in its own process group and stops the whole group on exit,
so no workerd is left behind whatever way the caller leaves (an error, Ctrl-C). The launcher also stops
when its standard input closes, which covers a parent that is killed outright.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from cv_analytics.local.processes import stop_process_group

EDGE_DIR = Path(__file__).resolve().parents[2] / "edge"
LAUNCHER = EDGE_DIR / "scripts" / "serve-example.mjs"
START_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class ExampleWorker:
    """A running example Worker; `url` ends with a slash (`http://127.0.0.1:PORT/`)."""

    url: str
    process: subprocess.Popen[bytes]

    @property
    def chat_url(self) -> str:
        return f"{self.url}chat"


def build_worker() -> None:
    """Bundle the example Worker with esbuild (about a second), so the demo always runs the current code."""
    subprocess.run(
        ["node", "scripts/build.mjs"],  # noqa: S607 - node from PATH, as the edge tasks use it
        cwd=EDGE_DIR,
        check=True,
        capture_output=True,
    )


def _read_url(stdout: IO[bytes], process: subprocess.Popen[bytes]) -> str:
    """The launcher's first line, with a timeout: a launcher that hangs must not hang the caller."""
    found: list[str] = []

    def read() -> None:
        line = stdout.readline()
        if line:
            found.append(json.loads(line)["url"])

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(START_TIMEOUT_SECONDS)
    if not found:
        code = process.poll()
        raise RuntimeError(
            f"the example Worker did not start within {START_TIMEOUT_SECONDS} s"
            + (f" (launcher exited with {code})" if code is not None else "")
        )
    return found[0]


def _drain(stream: IO[bytes], log: Path | None) -> None:
    """Keep reading the Worker's output so a full pipe never blocks it; keep it in `log` if given."""
    sink = log.open("ab") if log else None
    try:
        for line in stream:
            if sink:
                sink.write(line)
                sink.flush()
    finally:
        if sink:
            sink.close()


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the launcher (it disposes Miniflare), then SIGKILL to anything left in its group."""
    if process.stdin:
        with suppress(OSError):
            process.stdin.close()
    stop_process_group(process)


@contextmanager
def running_example_worker(
    bindings: dict[str, str], *, log: Path | None = None, ca_file: Path | None = None
) -> Iterator[ExampleWorker]:
    """Build and serve the example Worker with these env bindings until the block ends; `ca_file` is a CA
    its outbound HTTPS requests trust (the local AWS twin's)."""
    build_worker()
    trust = {"CV_ANALYTICS_WORKER_CA": str(ca_file), "NODE_EXTRA_CA_CERTS": str(ca_file)} if ca_file else {}
    process = subprocess.Popen(  # noqa: S603 - fixed argument list
        ["node", str(LAUNCHER)],  # noqa: S607
        cwd=EDGE_DIR,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, **trust, "CV_ANALYTICS_WORKER_BINDINGS": json.dumps(bindings)},
        start_new_session=True,  # its own group: stopped as a whole, and Ctrl-C reaches it through us only
    )
    try:
        assert process.stdout is not None
        url = _read_url(process.stdout, process)
        threading.Thread(target=_drain, args=(process.stdout, log), daemon=True).start()
        yield ExampleWorker(url=url, process=process)
    finally:
        _stop(process)


# How long a replaced Worker keeps running after new requests go to its successor: its `waitUntil` sends of
# requests already answered finish within this (each is one signed POST, retried once).
DRAIN_SECONDS = 3.0


class DeployedExampleWorker:
    """The example Worker as Cloudflare runs a deployed Worker: `put_secrets` deploys a new version.

    As `wrangler secret put` does, a change of secrets starts a new version with the new bindings; new
    requests go to it (`url` follows), while the version it replaced finishes what it was doing, its
    `waitUntil` sends included, before it stops. Each version's output goes to `log_dir/worker-<n>.log`.
    """

    def __init__(self, bindings: dict[str, str], *, log_dir: Path, ca_file: Path | None = None) -> None:
        self._bindings = dict(bindings)
        self._log_dir = log_dir
        self._ca_file = ca_file
        self._versions: list[ExitStack] = []
        self._url = ""
        self._lock = threading.Lock()
        self._start()

    def _start(self) -> None:
        stack = ExitStack()
        log = self._log_dir / f"worker-{len(self._versions) + 1}.log"
        worker = stack.enter_context(running_example_worker(self._bindings, log=log, ca_file=self._ca_file))
        with self._lock:
            self._versions.append(stack)
            self._url = worker.url

    @property
    def url(self) -> str:
        with self._lock:
            return self._url

    @property
    def logs(self) -> list[Path]:
        return [self._log_dir / f"worker-{n}.log" for n in range(1, len(self._versions) + 1)]

    def put_secrets(self, secrets: dict[str, str]) -> None:
        previous = self._versions[-1]
        self._bindings |= secrets
        self._start()
        threading.Timer(DRAIN_SECONDS, previous.close).start()

    def close(self) -> None:
        time.sleep(DRAIN_SECONDS)
        for stack in self._versions:
            stack.close()
