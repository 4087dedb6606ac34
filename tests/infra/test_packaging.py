"""The Lambda zips: reproducible, without what the runtime provides, importable with only the zip."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from cv_analytics import packaging

# What the Lambda Python runtime itself provides, copied from this environment into the clean one.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py")
# Every Lambda handler each zip serves, as the function stacks name them (test_stacks checks those names).
HANDLERS = {
    "processor": ("processor.handler.handle", "processor.handler.sweep"),
    "reporter": ("reporter.handler.handle", "reporter.handler.roll_up"),
}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_same_source_gives_the_same_zip_even_with_a_fresh_dependency_install(
    lambda_zips: dict[str, Path], tmp_path: Path
) -> None:
    fresh = tmp_path / "deps"
    requirements = packaging.locked_requirements(packaging.lock_file("processor"))
    packaging.install_dependencies(requirements, fresh, packaging.LAMBDA)
    again = packaging.build("processor", tmp_path / "processor.zip", dependencies=fresh)
    assert _sha256(again) == _sha256(lambda_zips["processor"])
    rebuilt = packaging.build("reporter", tmp_path / "reporter.zip")
    assert _sha256(rebuilt) == _sha256(lambda_zips["reporter"])


# e_machine of an ELF file built for arm64.
ELF_AARCH64 = 183


@pytest.mark.parametrize("function", packaging.FUNCTIONS)
def test_zip_holds_the_code_and_its_lambda_dependencies_only(
    lambda_zips: dict[str, Path], function: str
) -> None:
    with zipfile.ZipFile(lambda_zips[function]) as archive:
        names = archive.namelist()
        infos = archive.infolist()
    tops = {name.split("/", 1)[0] for name in names}
    assert not tops & {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py"}
    assert {"contract", function, "aws_lambda_powertools", "pynamodb", "fastjsonschema"} <= tops
    assert "contract/schema/event.schema.json" in names
    other = next(f for f in packaging.FUNCTIONS if f != function)
    assert other not in tops
    assert not [n for n in names if n.endswith((".pyc", ".pyo")) or "__pycache__" in n or "/tests/" in n]
    assert names == sorted(names)
    assert {info.date_time for info in infos} == {packaging.ZIP_EPOCH}
    native = [n for n in names if n.endswith(".so") or ".so." in n]
    modules = [n for n in native if "cpython-" in n]
    assert all("aarch64" in n and "cpython-312" in n for n in modules), modules
    with zipfile.ZipFile(lambda_zips[function]) as archive:
        machines = {n: int.from_bytes(archive.read(n)[18:20], "little") for n in native}
    assert all(machine == ELF_AARCH64 for machine in machines.values()), machines  # bundled libraries too
    if function == "reporter":
        assert {"jinja2", "premailer", "lxml"} <= tops
        assert native, "lxml ships native code: it must be the arm64 build"


@pytest.mark.parametrize("function", packaging.FUNCTIONS)
def test_handler_imports_in_a_clean_virtualenv_with_only_the_zip(function: str, tmp_path: Path) -> None:
    # Built for this machine's platform (the Lambda zip's arm64 lxml cannot load here); same code path.
    zip_path = packaging.build(function, tmp_path / f"{function}.zip", platform=packaging.Platform.host())
    code = tmp_path / "task"
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(code)
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    site = Path(next(p for p in sys.path if p.endswith("site-packages")))
    for name in RUNTIME_PACKAGES:
        (runtime / name).symlink_to(site / name)
    clean = tmp_path / "venv"
    venv.create(clean, with_pip=False)
    handlers = HANDLERS[function]
    probe = (
        "import importlib, sys\n"
        f"sys.path[:0] = [{str(code)!r}, {str(runtime)!r}]\n"
        f"for handler in {handlers!r}:\n"  # what Lambda loads: the module, then the attribute
        "    module_name, _, name = handler.rpartition('.')\n"
        "    module = importlib.import_module(module_name)\n"
        "    assert module.__file__.startswith(sys.path[0]), module.__file__\n"
        "    assert callable(getattr(module, name, None)), handler\n"
        "    print(handler)\n"
    )
    environment = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    completed = subprocess.run(
        [str(clean / "bin" / "python"), "-c", probe],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == list(handlers)
