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
from terraform.environment_schema import EnvironmentFileError
from terraform.stacks.state import BOOTSTRAP_STATE_DIR


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m terraform.main")
    parser.add_argument("environments", nargs="*")
    parser.add_argument("--outdir", type=Path, default=OUTDIR)
    parser.add_argument("--bootstrap-state-dir", type=Path, default=BOOTSTRAP_STATE_DIR)
    arguments = parser.parse_args(argv)
    try:
        app = build_app(arguments.environments or None, arguments.outdir, arguments.bootstrap_state_dir)
    except EnvironmentFileError as error:  # one line per mistake, naming file and key; no traceback
        for line in error.problems:
            print(line, file=sys.stderr)
        return 1
    app.synth()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
