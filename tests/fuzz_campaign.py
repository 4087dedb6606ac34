"""A long fuzz campaign of the processor: `python -m tests.fuzz_campaign --minutes 25`, or fuzz-processor.

Hypothesis keeps a tree of every choice it has explored in one run, so one run of tens of thousands of
examples grows by tens of kilobytes per example. The campaign instead runs the fuzz test again and again in
fresh processes of `--chunk` bodies each, each with its own random seed, until the time is up, so memory stays
that of one chunk. `out/fuzz-processor.progress` always holds the total so far (rewritten every 100 bodies),
and the last line printed is the campaign's count. The first chunk that fails stops the campaign with its
output shown and exit status 1.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

TEST = "tests/functional/test_processor_fuzz.py"
PROGRESS = Path("out/fuzz-processor.progress")
_LINE = re.compile(r"bodies tried: (\d+) in \d+ s, resident memory (\d+) MB")


def _read(path: Path) -> tuple[int, int] | None:
    match = _LINE.match(path.read_text(encoding="utf-8")) if path.exists() else None
    return (int(match.group(1)), int(match.group(2))) if match else None


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="A long fuzz campaign of the processor.")
    parser.add_argument("--minutes", type=float, default=25.0, help="how long to go on starting chunks")
    parser.add_argument("--chunk", type=int, default=2000, help="bodies per process")
    arguments = parser.parse_args(argv)
    PROGRESS.parent.mkdir(parents=True, exist_ok=True)
    PROGRESS.unlink(missing_ok=True)
    started, deadline = time.monotonic(), time.monotonic() + arguments.minutes * 60
    tried, chunks, peak = 0, 0, 0
    while time.monotonic() < deadline:
        environment = os.environ | {
            "CV_ANALYTICS_FUZZ_EXAMPLES": str(arguments.chunk),
            "CV_ANALYTICS_FUZZ_PROGRESS": str(PROGRESS),
            "CV_ANALYTICS_FUZZ_BASE": str(tried),
        }
        command = [sys.executable, "-m", "pytest", TEST, "-q", "-p", "no:randomly", "-p", "no:logging",
                   "-p", "no:cacheprovider", "--timeout=0"]  # fmt: skip
        result = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
        chunks += 1
        reading = _read(PROGRESS)
        if reading is not None:
            tried, peak = reading[0], max(peak, reading[1])
        if result.returncode != 0:
            print(result.stdout[-20_000:], result.stderr[-5_000:], sep="\n")
            print(f"chunk {chunks} failed after {tried} bodies in all", file=sys.stderr)
            return 1
        print(f"chunk {chunks}: {tried} bodies so far, {time.monotonic() - started:.0f} s, {peak} MB at most")
    summary = (
        f"bodies tried: {tried} in {time.monotonic() - started:.0f} s, {chunks} runs of {arguments.chunk}, "
        f"resident memory at most {peak} MB; no batch item failure, every body one record or one quarantine"
    )
    PROGRESS.write_text(summary + "\n", encoding="utf-8")
    print(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
