"""The bootstrap's decision about Debian packages: what it installs, what it refuses, what it says.

Nothing here needs root or the network: the decision is pure, and the command-line runs put a recording
`apt-get` first on PATH, so a real install never happens.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tools.system_packages import (
    REQUIREMENTS,
    Machine,
    Requirement,
    RequirementsError,
    decide,
    missing,
    read_requirements,
)

SCRIPT = REQUIREMENTS.parent.parent / "tools" / "system_packages.py"
CHROMIUM = Requirement("chromium", "browser", "command:chromium|chromium-browser")
NODE = Requirement("nodejs", "bootstrap", "command:node")
VENV = Requirement("python3-venv", "bootstrap", "module:ensurepip")


def test_the_projects_file_lists_chromium_for_the_browser_tasks_and_the_toolchains_for_taskw() -> None:
    requirements = read_requirements(REQUIREMENTS)

    assert [r.package for r in requirements if r.group == "browser"] == ["chromium"]
    assert {r.package for r in requirements if r.group == "bootstrap"} == {"python3-venv", "nodejs", "npm"}


def test_a_line_without_a_probe_names_the_file_the_line_and_the_expected_shape(tmp_path: Path) -> None:
    path = tmp_path / "apt.txt"
    path.write_text("# comment\nchromium browser\n", encoding="utf-8")

    with pytest.raises(RequirementsError, match=r"apt\.txt:2: expected 'package group command:NAME'"):
        read_requirements(path)


def test_any_of_the_alternative_commands_counts_as_present() -> None:
    only_the_old_name = {"chromium-browser": "/usr/bin/chromium-browser"}.get

    assert missing([CHROMIUM], "browser", which=only_the_old_name) == []
    assert missing([CHROMIUM], "browser", which=lambda _: None) == [CHROMIUM]


def test_only_the_asked_group_is_probed() -> None:
    everything = [CHROMIUM, NODE, VENV]

    assert missing(everything, "bootstrap", which=lambda _: None, has_module=lambda _: False) == [NODE, VENV]
    assert missing(everything, "bootstrap", which=lambda _: None, has_module=lambda _: True) == [NODE]


def test_nothing_missing_decides_nothing_on_any_machine() -> None:
    for machine in (Machine(is_root=True, has_apt=True), Machine(is_root=False, has_apt=False)):
        decision = decide([], machine)
        assert decision.install == ()
        assert decision.refusal == ""


def test_root_with_apt_installs_every_missing_package_in_file_order() -> None:
    decision = decide([NODE, CHROMIUM], Machine(is_root=True, has_apt=True))

    assert decision.install == ("nodejs", "chromium")
    assert decision.refusal == ""


def test_without_root_it_refuses_with_the_command_that_installs_them() -> None:
    decision = decide([NODE, CHROMIUM], Machine(is_root=False, has_apt=True))

    assert decision.install == ()
    assert decision.refusal == (
        "missing Debian packages: nodejs chromium; install them as root with: "
        "sudo apt-get install -y -qq --no-install-recommends nodejs chromium"
    )


def test_without_apt_it_refuses_and_names_the_packages_for_another_package_manager() -> None:
    decision = decide([CHROMIUM], Machine(is_root=True, has_apt=False))

    assert decision.install == ()
    assert "missing packages: chromium" in decision.refusal
    assert "no apt-get" in decision.refusal
    assert "\n" not in decision.refusal


def _run(tmp_path: Path, requirements: str, group: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Run the script with a recording apt-get first on PATH; returns the run and the recording."""
    (tmp_path / "apt.txt").write_text(requirements, encoding="utf-8")
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    recording = tmp_path / "apt-get-calls"
    fake = fake_bin / "apt-get"
    fake.write_text(f'#!/bin/sh\necho "$*" >> {recording}\n', encoding="utf-8")
    fake.chmod(0o755)
    completed = subprocess.run(
        [sys.executable, "-I", "-S", str(SCRIPT), group, "--requirements", str(tmp_path / "apt.txt")],
        env={**os.environ, "PATH": f"{fake_bin}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    return completed, recording


def test_when_everything_is_there_apt_is_never_called(tmp_path: Path) -> None:
    completed, recording = _run(tmp_path, "coreutils browser command:sh|nonexistent\n", "browser")

    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
    assert not recording.exists()


def test_a_missing_package_is_installed_as_root_or_refused_otherwise(tmp_path: Path) -> None:
    requirements = "not-a-real-package browser command:cv-analytics-no-such-tool\n"
    completed, recording = _run(tmp_path, requirements, "browser")

    assert completed.returncode == 1
    if os.geteuid() == 0 and Path("/etc/debian_version").exists():
        assert recording.read_text(encoding="utf-8").splitlines() == [
            "update -qq",
            "install -y -qq --no-install-recommends not-a-real-package",
        ]
        assert "installing Debian packages for the browser tasks: not-a-real-package" in completed.stderr
        # The recording apt-get installs nothing, so the probe still fails and says so instead of going on.
        assert "still not found: not-a-real-package (command:cv-analytics-no-such-tool)" in completed.stderr
    else:
        assert not recording.exists()
        assert completed.stderr.count("\n") == 1
        assert "not-a-real-package" in completed.stderr


def test_an_unknown_group_names_the_groups_there_are(tmp_path: Path) -> None:
    completed, _ = _run(tmp_path, "chromium browser command:chromium\n", "browsers")

    assert completed.returncode == 2
    assert "unknown package group 'browsers'" in completed.stderr
    assert "has browser" in completed.stderr
