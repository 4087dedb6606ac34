"""Run the Python tests as two processes at once: the Terraform twin suite beside everything else.

`tests/twin` applies the four local stacks onto a twin and plans, deploys and destroys them: minutes of
wall time spent almost entirely in the AWS provider's fixed polling (it sleeps between identical reads),
not on the CPU. Run after the other suites, that waiting would add to their minutes; run beside them, it
overlaps them. The other suites stream to the terminal as usual; the twin suite writes to
`.cache/pytest-twin.log`, printed whole when it ends, and the exit code is the worse of the two.

With arguments (`./taskw pytest -- tests/unit -k sweep`), this is plain `pytest` with those arguments.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
TWIN_SUITE = "tests/twin"
TWIN_LOG = ROOT / ".cache" / "pytest-twin.log"
PROGRESS_EVERY_SECONDS = 30


def pytest(*arguments: str, log: IO[bytes] | None = None) -> subprocess.Popen[bytes]:
    """pytest in a process of its own: on the terminal, or into `log` with no input."""
    command = [sys.executable, "-m", "pytest", *arguments]
    if log is None:
        return subprocess.Popen(command, cwd=ROOT)  # noqa: S603 - fixed argument list
    return subprocess.Popen(  # noqa: S603 - fixed argument list
        command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
    )


def main(arguments: list[str]) -> int:
    if arguments:
        return pytest(*arguments).wait()
    # Both processes load the reporter's model: build it once before either starts.
    subprocess.run([sys.executable, "-m", "cv_analytics.model_files"], cwd=ROOT, check=True)
    TWIN_LOG.parent.mkdir(parents=True, exist_ok=True)
    with TWIN_LOG.open("wb") as log:
        twin = pytest(TWIN_SUITE, log=log)
        print(f"{TWIN_SUITE} runs beside the other suites, into {TWIN_LOG.relative_to(ROOT)}", flush=True)
        try:
            others = pytest("--ignore", TWIN_SUITE).wait()
            started = time.monotonic()
            while twin.poll() is None:
                print(f"waiting for {TWIN_SUITE} ({time.monotonic() - started:.0f} s)", flush=True)
                try:
                    twin.wait(PROGRESS_EVERY_SECONDS)
                except subprocess.TimeoutExpired:
                    continue
        finally:
            if twin.poll() is None:
                twin.terminate()
                twin.wait(60)
    print(f"----- {TWIN_SUITE} -----", flush=True)
    sys.stdout.buffer.write(TWIN_LOG.read_bytes())
    sys.stdout.flush()
    return others or twin.returncode


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
