"""Run the Terraform twin suite in a process of its own, beside everything else the command runs.

`tests/twin` applies the four local stacks onto a twin and plans, deploys and destroys them: minutes of
wall time spent almost entirely in the AWS provider's fixed polling (it sleeps between identical reads),
not on the CPU. Run after the other checks, that waiting would add to their minutes; run beside them, it
overlaps them. So the twin suite starts first, writing to `.cache/pytest-twin.log`; then the other pytest
suites run on the terminal, with the `--before` commands ahead of them and the `--after` commands behind
(`./taskw test` puts the browser's install and lint before and the edge client's tests after); the twin
suite's log is printed whole when it ends, and the exit code is the worst of all.

With pytest arguments after `--` (`./taskw pytest -- tests/unit -k sweep`), this is plain `pytest` with them.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
TWIN_SUITE = "tests/twin"
TWIN_LOG = ROOT / ".cache" / "pytest-twin.log"
PROGRESS_EVERY_SECONDS = 30
# The slowest twin tests, listed after its run: where its minutes went.
TWIN_DURATIONS = "--durations=8"


def pytest(*arguments: str, log: IO[bytes] | None = None) -> subprocess.Popen[bytes]:
    """pytest in a process of its own: on the terminal, or into `log` with no input."""
    command = [sys.executable, "-m", "pytest", *arguments]
    if log is None:
        return subprocess.Popen(command, cwd=ROOT)  # noqa: S603 - fixed argument list
    return subprocess.Popen(  # noqa: S603 - fixed argument list
        command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
    )


def shell(command: str) -> int:
    print(f"tools/pytest_suites: {command}", flush=True)
    return subprocess.run(shlex.split(command), cwd=ROOT, check=False).returncode  # noqa: S603


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="tools/pytest_suites.py", description=__doc__.splitlines()[0])
    parser.add_argument("--before", action="append", default=[], help="a command to run before the suites")
    parser.add_argument("--after", action="append", default=[], help="a command to run after the suites")
    split = argv.index("--") if "--" in argv else len(argv)
    arguments, pytest_arguments = parser.parse_args(argv[:split]), argv[split + 1 :]
    if pytest_arguments:
        return pytest(*pytest_arguments).wait()
    # Both pytest processes build the reporter's model on first use (`cv_analytics.model_files.build`, one
    # build at a time on the machine): the twin suite's apply builds it while the `--before` commands run,
    # and the other suites find it built or wait for it.
    TWIN_LOG.parent.mkdir(parents=True, exist_ok=True)
    codes: list[int] = []
    with TWIN_LOG.open("wb") as log:
        twin = pytest(TWIN_SUITE, TWIN_DURATIONS, log=log)
        print(f"{TWIN_SUITE} runs beside the rest, into {TWIN_LOG.relative_to(ROOT)}", flush=True)
        try:
            codes += [shell(command) for command in arguments.before]
            codes.append(pytest("--ignore", TWIN_SUITE).wait())
            codes += [shell(command) for command in arguments.after]
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
    codes.append(twin.returncode)
    return next((code for code in codes if code != 0), 0)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
