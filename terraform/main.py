"""Synthesize the stacks: `python -m terraform.main [ENV ...]` writes terraform/cdktf.out/stacks/<stack>/."""

from __future__ import annotations

import sys

from terraform.app import build_app


def main(argv: list[str]) -> int:
    build_app(argv or None).synth()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
