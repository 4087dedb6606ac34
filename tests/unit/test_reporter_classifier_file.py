"""The topic classifier ships beside the model, fitted once, never read for another catalogue."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from cv_analytics import model_files
from reporter import grouping
from reporter.embedding import MODEL_DIRECTORY, ModelMissingError, load
from reporter.grouping import (
    CATALOGUE_DIGEST,
    CLASSIFIER_FILE,
    fit_classifier,
    stored_classifier,
    write_classifier,
)
from reporter.topics import TOPICS


@pytest.fixture(scope="module")
def built() -> Path:
    return model_files.build()


def test_the_shipped_classifier_knows_every_topic(built: Path) -> None:
    classifier = stored_classifier(built)
    assert classifier.topics == len(TOPICS)
    assert classifier.weights.shape == (classifier.topics + 1, load(built).embed(["x"]).shape[1])


def test_a_classifier_fitted_on_another_catalogue_is_refused(tmp_path: Path) -> None:
    save_file(
        {"bias": np.zeros(2, dtype=np.float32)}, str(tmp_path / CLASSIFIER_FILE), {CATALOGUE_DIGEST: "x"}
    )
    with pytest.raises(
        ModelMissingError, match=r"another topic catalogue.*python -m cv_analytics\.model_files"
    ):
        stored_classifier(tmp_path)


def test_a_missing_classifier_names_the_command_that_builds_it(tmp_path: Path) -> None:
    with pytest.raises(ModelMissingError, match=r"python -m cv_analytics\.model_files"):
        stored_classifier(tmp_path)


def test_the_classifier_is_fitted_again_only_when_the_catalogue_changes(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(built / CLASSIFIER_FILE, tmp_path / CLASSIFIER_FILE)
    model = load(MODEL_DIRECTORY)
    before = (tmp_path / CLASSIFIER_FILE).stat().st_mtime_ns
    write_classifier(tmp_path, model)
    assert (tmp_path / CLASSIFIER_FILE).stat().st_mtime_ns == before
    changed = [
        ("Does she know Erlang?", "Erlang"),
        ("Erlang?", "Erlang"),
        ("Where is she based?", "Location"),
    ]
    monkeypatch.setattr(grouping, "examples", lambda: changed)
    monkeypatch.setattr(grouping, "OFF_TOPIC", ("Does she know Java?", "hobbies?"))
    write_classifier(tmp_path, model)
    stored = stored_classifier(tmp_path)
    assert stored.topics == 2
    for name, tensor in fit_classifier(model).tensors().items():
        np.testing.assert_allclose(stored.tensors()[name], tensor, atol=1e-5)


def test_a_build_leaves_no_file_an_older_build_wrote(built: Path) -> None:
    """The reporter's zip carries the model's folder whole: the catalogue's embeddings an older build kept
    there would ship 1.7 MB for nothing."""
    stale = built / "topic-examples.safetensors"
    stale.write_bytes(b"older build")
    model_files.build()
    assert not stale.exists()
    assert (built / CLASSIFIER_FILE).exists()
