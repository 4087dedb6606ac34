"""An HTTP proxy in front of moto server that throttles a share of DynamoDB calls.

It lets tests and the demo prove that throttling is survived end to end: the throttled call gets the exact
error DynamoDB sends (HTTP 400, `ProvisionedThroughputExceededException`), so botocore's retries, the FIFO
partial-batch processor and the event source's redelivery all take their real paths. Which calls fail is
drawn from a seeded generator, so a run is repeatable.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

DYNAMODB_TARGET_PREFIX = "DynamoDB_20120810."
THROTTLE_BODY = json.dumps(
    {
        "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
        "message": "The level of configured provisioned throughput for the table was exceeded.",
    }
).encode()
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade"}


@dataclass
class FaultCounts:
    """What the proxy did, per DynamoDB operation: calls forwarded and calls throttled."""

    forwarded: dict[str, int] = field(default_factory=dict)
    throttled: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, bucket: dict[str, int], operation: str) -> None:
        with self.lock:
            bucket[operation] = bucket.get(operation, 0) + 1

    @property
    def total_throttled(self) -> int:
        return sum(self.throttled.values())


@dataclass
class FaultProxy:
    """A running proxy; point AWS_ENDPOINT_URL at `endpoint_url` instead of moto's."""

    endpoint_url: str
    counts: FaultCounts


def _handler_class(
    upstream: str, share: float, rng: random.Random, counts: FaultCounts, rng_lock: threading.Lock
) -> type[BaseHTTPRequestHandler]:
    target = urlsplit(upstream)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as separate writes

        def log_message(self, format: str, *args: object) -> None:
            """Silence the per-request log: a test run makes thousands of calls."""

        def _relay(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            amz_target = self.headers.get("X-Amz-Target", "")
            if amz_target.startswith(DYNAMODB_TARGET_PREFIX):
                operation = amz_target[len(DYNAMODB_TARGET_PREFIX) :]
                with rng_lock:
                    throttle = rng.random() < share
                if throttle:
                    counts.add(counts.throttled, operation)
                    self._answer(400, [("Content-Type", "application/x-amz-json-1.0")], THROTTLE_BODY)
                    return
                counts.add(counts.forwarded, operation)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            upstream_connection = self._upstream()
            try:
                upstream_connection.request(self.command, self.path, body=body, headers=headers)
                response = upstream_connection.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException):
                upstream_connection.close()
                raise
            kept = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
            kept = [(k, v) for k, v in kept if k.lower() != "content-length"]
            self._answer(response.status, kept, payload)

        def _upstream(self) -> http.client.HTTPConnection:
            """One upstream connection per client connection, kept alive like the client's own."""
            connection: http.client.HTTPConnection | None = getattr(self, "_connection", None)
            if connection is None:
                connection = http.client.HTTPConnection(
                    target.hostname or "127.0.0.1", target.port, timeout=60
                )
                self._connection = connection
            return connection

        def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _relay  # noqa: N815

    return Handler


@contextmanager
def running_fault_proxy(upstream: str, *, share: float, seed: int = 0) -> Iterator[FaultProxy]:
    """Serve on a free loopback port until the block ends; `share` of DynamoDB calls are throttled."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share={share} must be between 0 and 1")
    counts = FaultCounts()
    handler = _handler_class(upstream, share, random.Random(seed), counts, threading.Lock())
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="fault-proxy", daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield FaultProxy(endpoint_url=f"http://{host!s}:{port}", counts=counts)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
