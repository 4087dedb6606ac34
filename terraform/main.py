"""Synthesize the stacks: `python -m terraform.main [ENV ...]` writes terraform/cdktf.out/stacks/<stack>/."""

from __future__ import annotations

import sys

from terraform.app import build_app
from terraform.environment_schema import EnvironmentFileError


def main(argv: list[str]) -> int:
    try:
        app = build_app(argv or None)
    except EnvironmentFileError as error:  # one line per mistake, naming file and key; no traceback
        for line in error.problems:
            print(line, file=sys.stderr)
        return 1
    app.synth()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
