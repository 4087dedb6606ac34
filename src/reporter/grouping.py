"""Questions grouped by meaning: the same question in other words counts once.

Three steps over the week's distinct wordings (after `reporter.questions.normalise`), each a few matrix
products on all-MiniLM-L6-v2 embeddings (`reporter.embedding`):

1. A wording whose nearest example in `reporter.topics` is at least TOPIC_SIMILARITY alike joins that
   example's topic. Nearest example, not the average over a topic: a topic's examples are deliberately
   unlike each other (short, long, other languages), so only the closest one says anything.
2. A wording still without a group joins the topic of the nearest wording that got one in step 1, at
   PROPAGATE_SIMILARITY: a typo far from every example is often close to a cleaner wording asked the
   same week.
3. What is left is grouped among itself, most asked first, each wording joining the first group whose
   founding wording is at least OPEN_SIMILARITY alike (or founding a group). This threshold is high: a
   question about something no topic covers must not be merged with a different one, and the frame that
   recruiters' questions share ("does she know ...") already makes unrelated questions score 0.5.

Why not string similarity, or clustering without examples: on the labelled set (tests/fixtures/
recruiter_questions.py), no single similarity threshold groups "notice period?" with "When is she available
to join?" without also merging different questions; the figures are in the README.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cached_property, lru_cache

import numpy as np
import numpy.typing as npt

from reporter.embedding import MiniLM, Vectors, load
from reporter.questions import normalise
from reporter.topics import TERMS, examples

# Chosen on the labelled set's tuning part and on questions outside every topic (tests/fixtures/
# recruiter_questions.py OUTSIDE), never on its held-out part. From 0.40 to 0.55 every tuning topic keeps at
# least 85 % of its wordings together; what changes is how many of ten questions outside every topic are
# drawn into one: 10 at 0.40, 4 at 0.55 (with propagation at 0.50), 2 at 0.60 where the tuning share
# falls to 69 %. A wording joins a topic from its nearest example at TOPIC_SIMILARITY, or from the nearest
# wording of the same report already in a topic at PROPAGATE_SIMILARITY.
TOPIC_SIMILARITY = 0.55
PROPAGATE_SIMILARITY = 0.50
# Above the similarity of different questions that share a frame ("Does she know Go?" and "Does she know
# Rust?" score about 0.6), below that of a wording and its typo or a word more.
OPEN_SIMILARITY = 0.8
# Wordings grouped by meaning per report, the most asked first: enough for every list the email shows,
# few enough for the reporter's timeout on a small Lambda (bench/reporter_grouping.py measures the time).
MAX_GROUPED = 500
# How alike a word must be to a topic's term to count as naming it (difflib ratio: "pyhton" is 0.83).
TERM_SIMILARITY = 0.8
# Rows compared at a time in steps 2 and 3, so memory stays flat however many wordings a week holds.
BLOCK = 1024


@dataclass(frozen=True)
class Groups:
    """For each wording (in the order given) its group's index, and each group's topic (None when the
    group formed among the week's wordings alone)."""

    of: list[int]
    topics: list[str | None]


class QuestionGrouper:
    """Groups wordings by meaning with one loaded model; the topic examples are embedded once."""

    def __init__(self, model: MiniLM) -> None:
        self.model = model

    @cached_property
    def _examples(self) -> tuple[Vectors, list[str]]:
        pairs = examples()
        return self.model.embed([text for text, _ in pairs]), [topic for _, topic in pairs]

    def group(self, wordings: Sequence[str], weights: Sequence[int] | None = None) -> Groups:
        """Group `wordings` (distinct texts); `weights` (how often each was asked) decides which wording
        founds an open group, the most asked first."""
        count = len(wordings)
        if count == 0:
            return Groups([], [])
        vectors = self.model.embed(list(wordings))
        example_vectors, example_topics = self._examples
        topic_names = sorted(set(example_topics))
        topic_index = {name: index for index, name in enumerate(topic_names)}
        barred = _barred(wordings, topic_names)
        example_barred = barred[:, [topic_index[topic] for topic in example_topics]]
        assigned = np.full(count, -1, dtype=np.int64)
        for start in range(0, count, BLOCK):
            similarity = vectors[start : start + BLOCK] @ example_vectors.T
            similarity[example_barred[start : start + BLOCK]] = -1.0
            nearest = similarity.argmax(axis=1)
            close = similarity[np.arange(len(nearest)), nearest] >= TOPIC_SIMILARITY
            block = np.array([topic_index[example_topics[index]] for index in nearest], dtype=np.int64)
            assigned[start : start + BLOCK] = np.where(close, block, -1)
        self._propagate(vectors, assigned, barred)
        groups = [int(topic) for topic in assigned]
        topics: list[str | None] = list(topic_names)
        open_rows = [row for row in range(count) if assigned[row] < 0]
        order = sorted(open_rows, key=lambda row: (-(weights[row] if weights else 1), row))
        founders: list[int] = []
        founder_vectors = np.zeros((0, vectors.shape[1]), dtype=np.float32)
        for row in order:
            if founders:
                similarity = founder_vectors @ vectors[row]
                best = int(similarity.argmax())
                if similarity[best] >= OPEN_SIMILARITY:
                    groups[row] = groups[founders[best]]
                    continue
            groups[row] = len(topics)
            topics.append(None)
            founders.append(row)
            founder_vectors = np.vstack([founder_vectors, vectors[row][None, :]])
        return _compact(groups, topics)

    @staticmethod
    def _propagate(vectors: Vectors, assigned: npt.NDArray[np.int64], barred: npt.NDArray[np.bool_]) -> None:
        """Step 2: a wording without a topic takes that of its nearest wording with one, if close enough."""
        placed = np.flatnonzero(assigned >= 0)
        waiting = np.flatnonzero(assigned < 0)
        if not len(placed) or not len(waiting):
            return
        anchors = vectors[placed]
        anchor_topics = assigned[placed]
        for start in range(0, len(waiting), BLOCK):
            rows = waiting[start : start + BLOCK]
            similarity = vectors[rows] @ anchors.T
            similarity[barred[rows][:, anchor_topics]] = -1.0
            nearest = similarity.argmax(axis=1)
            close = similarity[np.arange(len(rows)), nearest] >= PROPAGATE_SIMILARITY
            assigned[rows[close]] = anchor_topics[nearest[close]]


def _barred(wordings: Sequence[str], topic_names: list[str]) -> npt.NDArray[np.bool_]:
    """For each wording and topic: True when the topic is about a technology the wording does not name."""
    barred = np.zeros((len(wordings), len(topic_names)), dtype=np.bool_)
    for column, topic in enumerate(topic_names):
        terms = TERMS.get(topic)
        if not terms:
            continue
        for row, wording in enumerate(wordings):
            words = normalise(wording).split()
            barred[row, column] = not any(_names(word, terms) for word in words)
    return barred


def _names(word: str, terms: tuple[str, ...]) -> bool:
    if word in terms:
        return True
    return len(word) >= 4 and any(
        len(term) >= 4 and SequenceMatcher(None, word, term).ratio() >= TERM_SIMILARITY for term in terms
    )


def _compact(groups: list[int], topics: list[str | None]) -> Groups:
    """Renumber so that only groups with a member remain, in order of first appearance."""
    renumbered: dict[int, int] = {}
    of = [renumbered.setdefault(group, len(renumbered)) for group in groups]
    kept: list[str | None] = [None] * len(renumbered)
    for old, new in renumbered.items():
        kept[new] = topics[old]
    return Groups(of, kept)


def group_wordings(
    grouper: QuestionGrouper | None, wordings: Mapping[str, tuple[str, int]]
) -> tuple[dict[str, str], dict[str, str | None]]:
    """Wording key -> group key, and group key -> topic, for `wordings` (key -> (text, times asked)).

    Only the MAX_GROUPED most asked wordings are grouped by meaning, so a week of tens of thousands of
    distinct questions still fits the reporter's time; the rest (asked least, typically once each) keep a
    group of their own wording. Without a grouper every wording is its own group.
    """
    ordered = sorted(wordings.items(), key=lambda item: (-item[1][1], item[0]))[:MAX_GROUPED]
    if grouper is None or not ordered:
        return {}, {}
    groups = grouper.group([text for _, (text, _) in ordered], [weight for _, (_, weight) in ordered])
    founders: dict[int, str] = {}
    group_of: dict[str, str] = {}
    topics: dict[str, str | None] = {}
    for (key, _), index in zip(ordered, groups.of, strict=True):
        topic = groups.topics[index]
        group = f"topic:{topic}" if topic is not None else f"open:{founders.setdefault(index, key)}"
        group_of[key] = group
        topics[group] = topic
    return group_of, topics


@lru_cache(maxsize=1)
def default_grouper() -> QuestionGrouper:
    """The grouper over the model shipped beside this package, loaded once per process."""
    return QuestionGrouper(load())
