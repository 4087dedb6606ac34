"""Run Terraform (or OpenTofu, `TF=tofu`) on one synthesized stack, with the project's own CLI configuration.

`python -m terraform.run apply --env local --stack infra [-- -auto-approve]`: what the deploy, plan and
destroy tasks call. It

- finds `terraform` (or `$TF`) on PATH, and fails with one line naming what to install when it is missing;
- writes a CLI configuration into the scratch folder (.cache/terraform/cli.tfrc) and points
  TF_CLI_CONFIG_FILE at it: the provider mirror when this machine has one (found at run time, never written
  into the repository), the registry otherwise; nothing is written into the home directory;
- for an environment with a `local_aws` block, points the run at the local AWS twin: its administrator's
  key and its CA (SSL_CERT_FILE), and fails with one line when no twin runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from terraform.environment import OUTDIR, ROOT, Environment

if TYPE_CHECKING:
    from cv_analytics.local.twin import Twin

SCRATCH = ROOT / ".cache" / "terraform"
PROVIDER = Path("registry.terraform.io") / "hashicorp" / "aws"
# Where a provider mirror is looked for: Terraform's own implied mirror folders, then the folders a machine
# image keeps plug-ins in. The mirror's root is the folder that holds registry.terraform.io/.
MIRROR_CANDIDATES = (
    Path("/usr/local/share/terraform/plugins"),
    Path("/usr/share/terraform/plugins"),
    Path("/opt/terraform/plugins"),
    Path("/opt/tf-plugins"),
)
MIRROR_VARIABLE = "TF_PROVIDER_MIRROR"


class TerraformMissing(SystemExit):
    pass


def terraform_command() -> str:
    """`$TF` or terraform, as a path; a one-line error when it is not installed."""
    name = os.environ.get("TF", "").strip() or "terraform"
    found = shutil.which(name)
    if found is None:
        raise TerraformMissing(
            f"{name} is not on PATH: install Terraform 1.10 or newer "
            "(https://developer.hashicorp.com/terraform/install), or OpenTofu 1.10+ and set TF=tofu"
        )
    return found


def provider_mirror() -> Path | None:
    """The root of a filesystem mirror holding the AWS provider, if this machine has one."""
    named = os.environ.get(MIRROR_VARIABLE, "").strip()
    candidates = [Path(named)] if named else list(MIRROR_CANDIDATES)
    return next((root for root in candidates if (root / PROVIDER).is_dir()), None)


def cli_config(scratch: Path = SCRATCH) -> Path:
    """Write the CLI configuration (mirror or registry) and a plug-in cache into `scratch`; its path."""
    scratch.mkdir(parents=True, exist_ok=True)
    cache = scratch / "plugin-cache"
    cache.mkdir(exist_ok=True)
    mirror = provider_mirror()
    lines = [f"plugin_cache_dir = {json.dumps(str(cache))}"]
    if mirror is not None:
        lines += [
            "provider_installation {",
            "  filesystem_mirror {",
            f"    path    = {json.dumps(str(mirror))}",
            '    include = ["registry.terraform.io/*/*"]',
            "  }",
            "  direct {",
            '    exclude = ["registry.terraform.io/*/*"]',
            "  }",
            "}",
        ]
    path = scratch / "cli.tfrc"
    text = "\n".join(lines) + "\n"
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path


def run_environment(env: Environment, twin: Twin | None = None) -> dict[str, str]:
    """The variables one Terraform run gets: the CLI configuration, and the twin's for a local environment."""
    values = {**os.environ, "TF_CLI_CONFIG_FILE": str(cli_config()), "TF_IN_AUTOMATION": "1"}
    if env.local_aws is not None:
        values = {k: v for k, v in values.items() if not k.startswith("AWS_")}
        values |= local_twin(env, twin).environment()
        # The provider reaches the twin through the endpoints the stack names, not AWS_ENDPOINT_URL.
        values.pop("AWS_ENDPOINT_URL", None)
    return values


def local_twin(env: Environment, twin: Twin | None = None) -> Twin:
    """The twin a local environment's commands talk to: the given one, or the one `twin-up` started."""
    if twin is None:
        from cv_analytics.local.twin import connect

        twin = connect()
    if twin is None:
        raise SystemExit(f"no local AWS runs for ENV={env.name}: start it with `./taskw twin-up`")
    return twin


def aws_client(env: Environment, service: str, twin: Twin | None = None) -> Any:
    """A boto3 client for the environment's account: the twin's administrator for a local environment."""
    if env.local_aws is not None:
        return local_twin(env, twin).client(service)
    import boto3

    return boto3.client(service, region_name=env.region)  # type: ignore[call-overload]


def stack_dir(env: Environment, kind: str, outdir: Path = OUTDIR) -> Path:
    return outdir / "stacks" / env.stack_name(kind)


def terraform(
    env: Environment,
    kind: str,
    arguments: Sequence[str],
    *,
    outdir: Path = OUTDIR,
    twin: Twin | None = None,
    capture: bool = False,
    check: bool = True,
    extra_env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """`terraform -chdir=<stack> ARGUMENTS` with the project's configuration."""
    folder = stack_dir(env, kind, outdir)
    if not (folder / "cdk.tf.json").exists():
        raise SystemExit(f"{folder} has no synthesized stack: run `./taskw synth ENV={env.name}` first")
    command = [terraform_command(), f"-chdir={folder}", *arguments]
    return subprocess.run(  # noqa: S603 - Terraform with the caller's arguments
        command,
        env={**run_environment(env, twin), **(extra_env or {})},
        check=check,
        text=True,
        capture_output=capture,
    )


def outputs(
    env: Environment, kind: str, *, outdir: Path = OUTDIR, twin: Twin | None = None
) -> dict[str, str]:
    """A stack's outputs, as Terraform reports them (sensitive ones included)."""
    result = terraform(env, kind, ["output", "-json"], outdir=outdir, twin=twin, capture=True)
    return {name: str(value["value"]) for name, value in json.loads(result.stdout).items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m terraform.run", epilog="Arguments after -- are passed on to terraform."
    )
    parser.add_argument("command", choices=("init", "plan", "apply", "destroy", "output"))
    parser.add_argument("--env", required=True)
    parser.add_argument("--stack", required=True, choices=("state", "infra", "processor", "reporter"))
    parser.add_argument(
        "--outdir", type=Path, default=OUTDIR, help="the synth's folder (terraform/cdktf.out)"
    )
    given = list(sys.argv[1:] if argv is None else argv)
    # Everything after `--` goes to Terraform as it is (argparse would take `-auto-approve` for its own).
    passed = given[given.index("--") + 1 :] if "--" in given else []
    own = given[: given.index("--")] if "--" in given else given
    parsed = parser.parse_args(own)
    parsed.arguments = passed
    env = Environment.load(parsed.env)
    terraform_command()
    if parsed.command == "output":
        print(json.dumps(outputs(env, parsed.stack, outdir=parsed.outdir), indent=2))
        return 0
    initialised = terraform(env, parsed.stack, ["init", "-input=false"], outdir=parsed.outdir, check=False)
    if initialised.returncode != 0:
        # Terraform has printed why; one line says which step failed, and the usual cause of a first run.
        hint = (
            ""
            if parsed.stack == "state"
            else f" (is the state bucket there? ./taskw deploy-state ENV={env.name})"
        )
        print(f"terraform init of {env.stack_name(parsed.stack)} failed{hint}", file=sys.stderr)
        return initialised.returncode
    if parsed.command == "init":
        return 0
    command = [parsed.command, "-input=false", *parsed.arguments]
    return terraform(env, parsed.stack, command, outdir=parsed.outdir, check=False).returncode


if __name__ == "__main__":
    raise SystemExit(main())
