"""Point a function's `live` alias back to an earlier published version: the rollback of one component.

`python -m terraform.rollback processor --env dev --version 7`. Each package runs two functions published
together from one zip (the processor the consumer and the sweep, the reporter the report and the roll-up):
the second goes back to its version with the same code (CodeSha256) as the first's target version.
Terraform sees the alias drift on the next deploy of that function and moves it forward again, which is
what a fix-forward should do.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from contract.resources import LIVE_ALIAS
from terraform.environment import Environment
from terraform.run import aws_client

FUNCTIONS_OF_PACKAGE = {"processor": ("processor", "sweep"), "reporter": ("reporter", "rollup")}


def _versions(client: Any, function_name: str) -> list[dict[str, Any]]:
    versions: list[dict[str, Any]] = []
    for page in client.get_paginator("list_versions_by_function").paginate(FunctionName=function_name):
        versions.extend(v for v in page["Versions"] if v["Version"] != "$LATEST")
    return versions


def rollback(client: Any, function_names: Sequence[str], version: str) -> dict[str, str]:
    """Move each function's alias; returns function name -> version it now points to."""
    primary, *companions = function_names
    target = client.get_function_configuration(FunctionName=primary, Qualifier=version)
    moved = {primary: version}
    for companion in companions:
        same_code = [v for v in _versions(client, companion) if v["CodeSha256"] == target["CodeSha256"]]
        if not same_code:
            raise SystemExit(f"{companion} has no version with the code of {primary}:{version}")
        moved[companion] = max(same_code, key=lambda v: int(v["Version"]))["Version"]
    for name, to in moved.items():
        client.update_alias(FunctionName=name, Name=LIVE_ALIAS, FunctionVersion=to)
    return moved


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m terraform.rollback")
    parser.add_argument("package", choices=sorted(FUNCTIONS_OF_PACKAGE))
    parser.add_argument("--env", required=True)
    parser.add_argument("--version", required=True, help="published version number to make live")
    arguments = parser.parse_args(argv)
    env = Environment.load(arguments.env)
    client = aws_client(env, "lambda")
    names = [env.function_name(f) for f in FUNCTIONS_OF_PACKAGE[arguments.package]]
    for name, version in rollback(client, names, arguments.version).items():
        print(f"{name}:{LIVE_ALIAS} -> version {version}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
