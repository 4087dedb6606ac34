"""Cold start: import time of `processor.handler` beside a bare `import boto3`, each in fresh processes.

Lambda imports the handler on every cold start; boto3 is the yardstick every Python Lambda pays (or
avoids). Target: the handler imports in at most 1.5 times what boto3 takes. Runs alternate between the two
so that machine load affects both alike; the medians are compared.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 9
TARGET_RATIO = 1.5
PROBE = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"


def import_seconds(module: str) -> float:
    """Seconds to import `module` in a new interpreter, without .pyc writing and with the src layout."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin", "AWS_REGION": "eu-west-2"},
    )
    return float(result.stdout.strip().splitlines()[-1])


def main() -> None:
    import_seconds("processor.handler")  # warm the file system cache and compiled bytecode
    import_seconds("boto3")
    handler, boto3 = [], []
    for _ in range(RUNS):
        handler.append(import_seconds("processor.handler"))
        boto3.append(import_seconds("boto3"))
    handler_ms, boto3_ms = statistics.median(handler) * 1000, statistics.median(boto3) * 1000
    ratio = handler_ms / boto3_ms
    print(f"import processor.handler: median {handler_ms:.0f} ms over {RUNS} fresh processes")
    print(f"import boto3:             median {boto3_ms:.0f} ms over {RUNS} fresh processes")
    verdict = "within" if ratio <= TARGET_RATIO else "ABOVE"
    print(f"ratio handler / boto3: {ratio:.2f} ({verdict} the target of {TARGET_RATIO})")


if __name__ == "__main__":
    main()
