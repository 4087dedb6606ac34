"""Install the Debian packages a task needs, or stop before it runs and say how to install them.

`./taskw` runs this before anything else (group `bootstrap`), and the tasks that drive Chromium run it for
the `browser` group, so a fresh clone's `./taskw test` sets itself up the way it sets up the virtualenv and
the npm packages. It runs on the machine's own python3 before the virtualenv exists, so it uses the standard
library only. When nothing is missing it spawns no process at all: the probes are PATH look-ups and module
look-ups, which keeps a warm `./taskw` fast. Installing needs root and apt-get; without them the task stops
with one line naming each missing package and the command that installs it, rather than letting a test fail
later for a reason it does not explain.

    python3 tools/system_packages.py GROUP [--requirements requirements/apt.txt]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

REQUIREMENTS = Path(__file__).resolve().parent.parent / "requirements" / "apt.txt"
APT_INSTALL = ("apt-get", "install", "-y", "-qq", "--no-install-recommends")


class RequirementsError(ValueError):
    """A line of the requirements file that cannot be read, with its file and line number."""


@dataclass(frozen=True)
class Requirement:
    """One Debian package, the group of tasks that needs it, and how to tell it is already there.

    `probe` is `command:NAME[|NAME...]` (any of the commands on PATH) or `module:NAME` (a module the machine's
    python3 can import), so a toolchain installed another way than apt (node from nvm, say) counts as present.
    """

    package: str
    group: str
    probe: str

    def present(self, which: Callable[[str], str | None], has_module: Callable[[str], bool]) -> bool:
        kind, _, names = self.probe.partition(":")
        if kind == "command":
            return any(which(name) for name in names.split("|"))
        return has_module(names)


@dataclass(frozen=True)
class Machine:
    """What decides whether this process may install packages itself."""

    is_root: bool
    has_apt: bool


@dataclass(frozen=True)
class Decision:
    """Packages to install, or the one line that stops the task; both empty when nothing is missing."""

    install: tuple[str, ...] = ()
    refusal: str = ""


def read_requirements(path: Path) -> list[Requirement]:
    """Parse the requirements file: `package group kind:names` per line, `#` starts a comment."""
    requirements = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        kind = fields[2].partition(":")[0] if len(fields) == 3 else ""
        if kind not in {"command", "module"}:
            raise RequirementsError(
                f"{path}:{number}: expected 'package group command:NAME' or 'package group module:NAME', "
                f"got {raw.strip()!r}"
            )
        requirements.append(Requirement(*fields))
    return requirements


def missing(
    requirements: Iterable[Requirement],
    group: str,
    which: Callable[[str], str | None] = shutil.which,
    has_module: Callable[[str], bool] = lambda name: importlib.util.find_spec(name) is not None,
) -> list[Requirement]:
    """The group's packages whose probe finds nothing, in file order."""
    return [r for r in requirements if r.group == group and not r.present(which, has_module)]


def decide(absent: Sequence[Requirement], machine: Machine) -> Decision:
    """Install what is absent when this machine lets us, or the line that says how to install it."""
    if not absent:
        return Decision()
    packages = " ".join(r.package for r in absent)
    if machine.is_root and machine.has_apt:
        return Decision(install=tuple(r.package for r in absent))
    if machine.has_apt:
        return Decision(
            refusal=f"missing Debian packages: {packages}; install them as root with: "
            f"sudo {' '.join(APT_INSTALL)} {packages}"
        )
    return Decision(
        refusal=f"missing packages: {packages} (their Debian names); this machine has no apt-get: install "
        "them with its own package manager, then run ./taskw again"
    )


def this_machine() -> Machine:
    return Machine(
        is_root=os.geteuid() == 0,
        has_apt=shutil.which("apt-get") is not None and Path("/etc/debian_version").exists(),
    )


def say(message: str) -> None:
    print(f"taskw: {message}", file=sys.stderr, flush=True)


class InstallError(RuntimeError):
    """apt-get failed; the message ends with the last lines it printed."""


def install(packages: Sequence[str]) -> None:
    """apt-get update, then install, with no question asked (CI has no standard input).

    dpkg's hundreds of lines of unpacking are kept back and shown only when a step fails.
    """
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], [*APT_INSTALL, *packages]):
        completed = subprocess.run(  # noqa: S603
            command, env=environment, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
        )
        if completed.returncode != 0:
            tail = (completed.stdout + completed.stderr).strip().splitlines()[-5:]
            raise InstallError(f"{' '.join(command)} exited {completed.returncode}: {' / '.join(tail)}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("group", help="the group of packages the next step needs (bootstrap, browser)")
    parser.add_argument("--requirements", type=Path, default=REQUIREMENTS)
    arguments = parser.parse_args(argv)
    try:
        requirements = read_requirements(arguments.requirements)
    except (OSError, RequirementsError) as error:
        say(str(error))
        return 2
    groups = sorted({r.group for r in requirements})
    if arguments.group not in groups:
        say(f"unknown package group {arguments.group!r}: {arguments.requirements} has {', '.join(groups)}")
        return 2
    absent = missing(requirements, arguments.group)
    decision = decide(absent, this_machine())
    if decision.refusal:
        say(decision.refusal)
        return 1
    if decision.install:
        needed_by = "./taskw itself" if arguments.group == "bootstrap" else f"the {arguments.group} tasks"
        say(f"installing Debian packages for {needed_by}: {' '.join(decision.install)}")
        started = time.monotonic()
        try:
            install(decision.install)
        except InstallError as error:
            say(str(error))
            return 1
        say(f"installed {' '.join(decision.install)} in {time.monotonic() - started:.0f} s")
        still = missing(requirements, arguments.group)
        if still:
            say(f"installed, but still not found: {', '.join(f'{r.package} ({r.probe})' for r in still)}")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
