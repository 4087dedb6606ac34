"""Warm `task synth` of every stack against its 15 s target, and the Lambda zip sizes against Lambda's limit.

Run with `task bench-infra`. The first synth fills jsii's cache and is not counted; the figure is the
fastest of three warm runs of the whole task (up-to-date zip checks included).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from cv_analytics import packaging

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 15.0
LAMBDA_ZIP_LIMIT = 50 * 1024 * 1024  # direct upload limit of a zipped deployment package
RUNS = 3


def _timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    task = shutil.which("task") or str(ROOT / ".venv" / "bin" / "task")
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    _timed([task, "synth"])  # warm-up: builds the zips if needed, fills the jsii cache
    synth = min(_timed([task, "synth"]) for _ in range(RUNS))
    stacks = len(list((ROOT / "terraform" / "cdktf.out" / "stacks").glob("*/cdk.tf.json")))
    print(
        f"task synth, warm, {stacks} stacks: {synth:.2f} s (target {TARGET_SECONDS:.0f} s, "
        f"{synth / TARGET_SECONDS:.2f} of target)"
    )
    for function in packaging.FUNCTIONS:
        size = (packaging.DIST / f"{function}.zip").stat().st_size
        print(
            f"{function}.zip: {size / 1024 / 1024:.2f} MiB ({size} bytes, "
            f"{size / LAMBDA_ZIP_LIMIT:.3f} of Lambda's 50 MiB zip limit)"
        )


if __name__ == "__main__":
    main()
