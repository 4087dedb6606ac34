"""One function's Lambda execution environment in its own process `cv_analytics.local.lambda_host`.

Started by `lambda_runtime` with exactly the variables Lambda would set: the function's own environment
variables, its role's temporary credentials and the runtime's AWS_* and LAMBDA_* variables. It puts the
function's code folder (LAMBDA_TASK_ROOT, the version's zip unpacked) first on the import path, imports the
handler named in `_HANDLER` once (a cold start), and then answers invocations: one JSON line
`{"event": ..., "deadline_ms": ...}` on standard input, one JSON line `{"result": ...}` or
`{"error": ..., "message": ...}` on the protocol stream, each with the handler's `duration_ms`. What the
function prints (its logs, EMF metrics) goes to standard error, which the runtime keeps in a log file, as
CloudWatch would.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import os
import sys
import time
import traceback
import uuid
from dataclasses import dataclass, field
from typing import Any


@dataclass
class LambdaContext:
    """The parts of Lambda's context object that handlers and Powertools read."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    deadline_ms: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.deadline_ms - int(time.time() * 1000))


def load_handler(task_root: str, handler: str) -> Any:
    """`module.function` from the code folder; refuses a module that resolves anywhere else."""
    sys.path.insert(0, task_root)
    module_name, _, function_name = handler.rpartition(".")
    module = importlib.import_module(module_name)
    origin = os.path.realpath(getattr(module, "__file__", "") or "")
    if not origin.startswith(os.path.realpath(task_root) + os.sep):
        raise ImportError(
            f"{module_name} was imported from {origin}, not from the function's code {task_root}"
        )
    return getattr(module, function_name)


def on_shifted_clock(handler: Any, offset_ms: int) -> Any:
    """A processor entry point on a runtime whose clock runs `offset_ms` from the wall clock (the demo's
    replayed week), built from the same environment and code (the function's, first on the import path)."""
    from contract.config import load_settings
    from processor.runtime import build_runtime, wall_clock_ms
    from processor.settings import ProcessorSettings

    runtime = build_runtime(load_settings(ProcessorSettings), clock=lambda: wall_clock_ms() + offset_ms)
    return functools.partial(handler, runtime=runtime)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--alias-arn", required=True)
    parser.add_argument(
        "--clock-offset-ms",
        type=int,
        default=0,
        help="run the processor's correlator this far from the wall clock (the demo's replayed week)",
    )
    arguments = parser.parse_args(argv)
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    handler = load_handler(os.environ["LAMBDA_TASK_ROOT"], os.environ["_HANDLER"])
    if arguments.clock_offset_ms:
        handler = on_shifted_clock(handler, arguments.clock_offset_ms)
    protocol.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        request = json.loads(line)
        context = LambdaContext(
            function_name=os.environ["AWS_LAMBDA_FUNCTION_NAME"],
            function_version=os.environ["AWS_LAMBDA_FUNCTION_VERSION"],
            invoked_function_arn=arguments.alias_arn,
            memory_limit_in_mb=int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]),
            deadline_ms=int(request["deadline_ms"]),
            log_group_name=os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", ""),
        )
        started = time.perf_counter()
        try:
            result = handler(request["event"], context)
            reply: dict[str, Any] = {"result": result}
        except Exception as error:
            traceback.print_exc()
            reply = {"error": type(error).__name__, "message": str(error)}
        reply["duration_ms"] = (time.perf_counter() - started) * 1000  # what Lambda bills, before rounding
        sys.stdout.flush()
        protocol.write(json.dumps(reply, default=str) + "\n")


if __name__ == "__main__":
    main()
