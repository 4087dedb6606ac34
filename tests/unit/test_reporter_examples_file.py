"""The topic examples' embeddings ship beside the model, built once, never read for another catalogue."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from cv_analytics import model_files
from reporter import grouping
from reporter.embedding import MODEL_DIRECTORY, ModelMissingError, load
from reporter.grouping import EXAMPLES_DIGEST, EXAMPLES_FILE, embedded_examples, write_embedded_examples
from reporter.topics import examples


@pytest.fixture(scope="module")
def built() -> Path:
    return model_files.build()


def _texts() -> list[str]:
    return [text for text, _ in examples()]


def test_the_stored_examples_are_what_the_model_embeds_them_as(built: Path) -> None:
    stored = embedded_examples(built, _texts())
    some = [0, len(stored) // 2, len(stored) - 1]
    fresh = load(built).embed([_texts()[index] for index in some])
    assert stored.shape == (len(_texts()), fresh.shape[1])
    np.testing.assert_allclose(stored[some], fresh, atol=1e-5)


def test_examples_embedded_for_another_catalogue_are_refused(built: Path, tmp_path: Path) -> None:
    save_file(
        {"vectors": np.zeros((2, 3), dtype=np.float32)}, str(tmp_path / EXAMPLES_FILE), {EXAMPLES_DIGEST: "x"}
    )
    with pytest.raises(
        ModelMissingError, match=r"another topic catalogue.*python -m cv_analytics\.model_files"
    ):
        embedded_examples(tmp_path, _texts())


def test_missing_examples_name_the_command_that_builds_them(tmp_path: Path) -> None:
    with pytest.raises(ModelMissingError, match=r"python -m cv_analytics\.model_files"):
        embedded_examples(tmp_path, _texts())


def test_the_examples_are_embedded_again_only_when_the_catalogue_changes(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(built / EXAMPLES_FILE, tmp_path / EXAMPLES_FILE)
    model = load(MODEL_DIRECTORY)
    before = (tmp_path / EXAMPLES_FILE).stat().st_mtime_ns
    write_embedded_examples(tmp_path, model)
    assert (tmp_path / EXAMPLES_FILE).stat().st_mtime_ns == before
    changed = [("Does she know Erlang?", "Erlang"), ("Erlang?", "Erlang")]
    monkeypatch.setattr(grouping, "examples", lambda: changed)
    write_embedded_examples(tmp_path, model)
    stored = embedded_examples(tmp_path, [text for text, _ in changed])
    np.testing.assert_allclose(stored, model.embed([text for text, _ in changed]), atol=1e-6)
