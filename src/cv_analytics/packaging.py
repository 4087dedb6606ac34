"""Deterministic Lambda zips: `python -m cv_analytics.packaging processor|reporter`.

A zip holds the function's package, `contract`, and the function's locked dependencies installed for Lambda's
platform (python3.12 on arm64), minus boto3, botocore and s3transfer, which the runtime provides. Entries are
sorted, timestamps and permissions fixed, and no bytecode or tests are included, so the same source and lock
give the same sha256 on any machine: Terraform's `source_code_hash` then changes only when the code does.

Installed dependencies are cached under `.cache/lambda-deps/`, keyed by the lock file and the platform, so a
rebuild after a code change only re-zips.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import platform as host_platform
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cv_analytics import model_files

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "src"
REQUIREMENTS = ROOT / "requirements"
# Where the zips are built and the function stacks take them from. A deployment of its own (the demo's, the
# twin tests') points this at its own folder, so a code change it builds never reaches another's stacks.
DIST_VARIABLE = "CV_ANALYTICS_DIST"
DIST = Path(os.environ.get(DIST_VARIABLE) or ROOT / "dist")
DEPENDENCY_CACHE = ROOT / ".cache" / "lambda-deps"

FUNCTIONS = ("processor", "reporter")
SHARED_PACKAGES = ("contract",)
# The Lambda Python runtime ships boto3, botocore and s3transfer, and with them botocore's own dependencies.
# Bundling any of them would add megabytes and put a second copy ahead of the runtime's on sys.path, where
# the runtime's botocore would import ours (urllib3 above all) instead of the one it was built with.
PROVIDED_BY_RUNTIME = frozenset(
    {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "urllib3", "six"}
)
# Nothing a handler imports at run time lives here.
EXCLUDED_PARTS = frozenset({"__pycache__", "tests", "test", "bin"})
EXCLUDED_SUFFIXES = (".pyc", ".pyo")
# Install records name the installing interpreter's paths (script shebangs): they would make the zip depend
# on the machine that built it, and nothing reads them at run time.
INSTALL_RECORDS = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Platform:
    """What pip installs wheels for."""

    pip_platform: str
    python_version: str
    implementation: str = "cp"
    # Newer manylinux tags the platform also runs: numpy 2.3 and later publish arm64 wheels only as
    # manylinux_2_28, which Lambda's python3.12 runtime (Amazon Linux 2023, glibc 2.34) runs.
    also: tuple[str, ...] = ()

    @classmethod
    def host(cls) -> Platform:
        """This machine: for tests that import a zip's contents here."""
        return cls(
            pip_platform=f"manylinux2014_{host_platform.machine()}",
            python_version=f"{sys.version_info.major}.{sys.version_info.minor}",
            also=(f"manylinux_2_28_{host_platform.machine()}",),
        )


LAMBDA = Platform(
    pip_platform="manylinux2014_aarch64", python_version="3.12", also=("manylinux_2_28_aarch64",)
)


def lock_file(function: str) -> Path:
    return REQUIREMENTS / f"{function}.lock"


def locked_requirements(lock: Path) -> list[str]:
    """The `name==version` lines of a lock, without the packages the runtime provides."""
    requirements = []
    for line in lock.read_text(encoding="utf-8").splitlines():
        requirement = line.split("#", 1)[0].strip()
        if not requirement:
            continue
        name = requirement.split("==", 1)[0].strip().lower().replace("_", "-")
        if name not in PROVIDED_BY_RUNTIME:
            requirements.append(requirement)
    return sorted(requirements)


def install_dependencies(requirements: Sequence[str], target: Path, platform: Platform) -> None:
    """pip install exact pins, wheels only, for `platform`; the lock already holds the whole closure."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as handle:
        handle.write("\n".join(requirements) + "\n")
        requirements_file = handle.name
    try:
        subprocess.run(  # noqa: S603 - pip of this interpreter, arguments built here
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-qq",
                "--disable-pip-version-check",
                "--root-user-action=ignore",
                "--no-deps",
                "--no-compile",
                "--only-binary=:all:",
                "--platform",
                platform.pip_platform,
                *(argument for tag in platform.also for argument in ("--platform", tag)),
                "--python-version",
                platform.python_version,
                "--implementation",
                platform.implementation,
                "--target",
                str(target),
                "-r",
                requirements_file,
            ],
            check=True,
        )
    finally:
        Path(requirements_file).unlink()


def dependency_key(requirements: Sequence[str], platform: Platform) -> str:
    text = "\n".join(
        [
            platform.pip_platform,
            *platform.also,
            platform.python_version,
            platform.implementation,
            *requirements,
        ]
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cached_dependencies(function: str, platform: Platform, cache_root: Path = DEPENDENCY_CACHE) -> Path:
    """The installed dependencies of `function`, installed once per lock and platform."""
    requirements = locked_requirements(lock_file(function))
    directory = cache_root / f"{function}-{dependency_key(requirements, platform)}"
    if not (directory / ".complete").exists():
        shutil.rmtree(directory, ignore_errors=True)
        cache_root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{function}-", dir=cache_root))
        install_dependencies(requirements, staging, platform)
        (staging / ".complete").write_text("", encoding="utf-8")
        try:
            staging.rename(directory)
        except OSError:
            # Another build installed the same lock meanwhile: its copy is as good as this one.
            shutil.rmtree(staging, ignore_errors=True)
            if not (directory / ".complete").exists():
                raise
    return directory


def _included(relative: Path) -> bool:
    if relative.parent.name.endswith(".dist-info") and relative.name in INSTALL_RECORDS:
        return False
    return not (EXCLUDED_PARTS.intersection(relative.parts) or relative.name.endswith(EXCLUDED_SUFFIXES))


def _tree(root: Path, prefix: Path) -> Iterable[tuple[str, Path]]:
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        if path.is_file() and _included(relative) and relative.name != ".complete":
            yield (prefix / relative).as_posix(), path


def zip_entries(function: str, dependencies: Path) -> dict[str, Path]:
    """Archive name -> file: the dependencies, then the project's packages (which win on a clash)."""
    entries = dict(_tree(dependencies, Path()))
    for package in (*SHARED_PACKAGES, function):
        entries.update(_tree(SOURCE / package, Path(package)))
    return entries


def write_zip(entries: dict[str, Path], output: Path) -> None:
    """Sorted entries, fixed time and mode: the bytes depend on the contents only."""
    output.parent.mkdir(parents=True, exist_ok=True)
    # A partial file of this build's own: two builds at once (a deploy beside the tests) each replace the
    # zip whole, with the same bytes, and never write into each other's file.
    handle, name = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".partial", dir=output.parent)
    os.close(handle)
    partial = Path(name)
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
            for entry in sorted(entries):
                info = zipfile.ZipInfo(entry, date_time=ZIP_EPOCH)
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, entries[entry].read_bytes(), compresslevel=9)
        partial.chmod(0o644)
        partial.replace(output)
    finally:
        partial.unlink(missing_ok=True)


def build(
    function: str,
    output: Path | None = None,
    *,
    platform: Platform = LAMBDA,
    dependencies: Path | None = None,
) -> Path:
    """Build `function`'s zip (default `dist/<function>.zip`) and return its path."""
    if function not in FUNCTIONS:
        raise ValueError(f"unknown function {function!r}: expected one of {', '.join(FUNCTIONS)}")
    target = output or DIST / f"{function}.zip"
    if function == "reporter":
        model_files.build()  # into src/reporter/model/, which the zip carries with the package
    installed = dependencies or cached_dependencies(function, platform)
    write_zip(zip_entries(function, installed), target)
    return target


def sha256_base64(path: Path) -> str:
    """The digest Terraform's `source_code_hash` compares (`filebase64sha256`)."""
    return base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cv_analytics.packaging", description=__doc__.splitlines()[0]
    )
    parser.add_argument("function", choices=FUNCTIONS)
    parser.add_argument("-o", "--output", type=Path, help="zip to write (default dist/<function>.zip)")
    arguments = parser.parse_args(argv)
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    path = build(arguments.function, arguments.output)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    print(
        f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: "
        f"{path.stat().st_size} bytes, sha256 {digest}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
