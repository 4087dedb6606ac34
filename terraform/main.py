"""Synthesize the stacks: `python -m terraform.main [ENV ...]` writes terraform/cdktf.out/stacks/<stack>/.

`--outdir` and `--bootstrap-state-dir` move the output and the state stack's local state elsewhere (the
demo and the tests synthesize the local environment for a twin of their own).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from terraform.app import build_app
from terraform.environment import OUTDIR
from terraform.stacks.state import BOOTSTRAP_STATE_DIR


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m terraform.main")
    parser.add_argument("environments", nargs="*")
    parser.add_argument("--outdir", type=Path, default=OUTDIR)
    parser.add_argument("--bootstrap-state-dir", type=Path, default=BOOTSTRAP_STATE_DIR)
    arguments = parser.parse_args(argv)
    build_app(arguments.environments or None, arguments.outdir, arguments.bootstrap_state_dir).synth()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
