"""The topic classifier: a question goes to the topic its embedding points to, or to none of them."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from reporter.topic_classifier import TopicClassifier

DIMENSIONS = 24
TOPICS = 3


def _cloud(centre: int, count: int, seed: int) -> npt.NDArray[np.float32]:
    """Unit vectors scattered around one axis: the wordings of one subject."""
    rng = np.random.default_rng(seed)
    points = rng.normal(scale=0.12, size=(count, DIMENSIONS))
    points[:, centre] += 1.0
    points[:, -1] += 1.0  # what every wording shares, like the frame "does she ..."
    unit: npt.NDArray[np.float32] = (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(
        np.float32
    )
    return unit


@pytest.fixture(scope="module")
def fitted() -> TopicClassifier:
    topic_vectors = np.vstack([_cloud(topic, 20, seed=topic) for topic in range(TOPICS)])
    topic_of = np.repeat(np.arange(TOPICS), 20).astype(np.int64)
    # Four times a topic's examples, on several subjects of their own.
    off_topic = np.vstack([_cloud(axis, 20, seed=10 + axis) for axis in range(TOPICS, TOPICS + 4)])
    return TopicClassifier.fit(topic_vectors, topic_of, off_topic)


def test_a_new_wording_goes_to_the_topic_it_points_to(fitted: TopicClassifier) -> None:
    fresh = np.vstack([_cloud(topic, 10, seed=100 + topic) for topic in range(TOPICS)])
    assigned = fitted.assign(fresh, np.zeros((len(fresh), TOPICS), dtype=np.bool_), threshold=0.0)
    assert (assigned == np.repeat(np.arange(TOPICS), 10)).mean() >= 0.9


def test_a_wording_about_something_else_goes_to_none(fitted: TopicClassifier) -> None:
    """The off-topic class wins for what resembles it, though it holds four times a topic's examples and
    each of its subjects alone as many as a topic."""
    fresh = np.vstack([_cloud(axis, 10, seed=200 + axis) for axis in range(TOPICS, TOPICS + 4)])
    assigned = fitted.assign(fresh, np.zeros((len(fresh), TOPICS), dtype=np.bool_), threshold=0.0)
    assert (assigned == -1).mean() >= 0.9


def test_a_barred_topic_never_takes_a_wording(fitted: TopicClassifier) -> None:
    fresh = _cloud(0, 10, seed=300)
    barred = np.zeros((len(fresh), TOPICS), dtype=np.bool_)
    barred[:, 0] = True
    assert 0 not in fitted.assign(fresh, barred, threshold=0.0)
    assert (fitted.probabilities(fresh, barred)[:, 0] == 0).all()


def test_a_topic_less_probable_than_the_threshold_takes_nothing(fitted: TopicClassifier) -> None:
    fresh = _cloud(1, 10, seed=400)
    unbarred = np.zeros((len(fresh), TOPICS), dtype=np.bool_)
    probabilities = fitted.probabilities(fresh, unbarred)
    assert (probabilities.argmax(axis=1) == 1).all()
    threshold = float(np.median(probabilities[:, 1]))
    assigned = fitted.assign(fresh, unbarred, threshold=threshold)
    assert (assigned == np.where(probabilities[:, 1] >= threshold, 1, -1)).all()
    assert (assigned == -1).any()


def test_the_fit_is_deterministic() -> None:
    topic_vectors = np.vstack([_cloud(topic, 8, seed=topic) for topic in range(TOPICS)])
    topic_of = np.repeat(np.arange(TOPICS), 8).astype(np.int64)
    off_topic = _cloud(TOPICS, 8, seed=9)
    first = TopicClassifier.fit(topic_vectors, topic_of, off_topic).tensors()
    second = TopicClassifier.fit(topic_vectors, topic_of, off_topic).tensors()
    assert all(np.array_equal(first[name], second[name]) for name in first)


@settings(max_examples=30, deadline=None)
@given(
    vectors=arrays(np.float32, (5, DIMENSIONS), elements=st.floats(-1, 1, width=32)),
    barred=arrays(np.bool_, (5, TOPICS)),
)
def test_probabilities_are_a_distribution_over_the_classes_left(
    fitted: TopicClassifier, vectors: npt.NDArray[np.float32], barred: npt.NDArray[np.bool_]
) -> None:
    probabilities = fitted.probabilities(vectors, barred)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert (probabilities[:, :TOPICS][barred] == 0).all()
    assert (probabilities >= 0).all()
