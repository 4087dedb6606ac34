"""Questions grouped by meaning: the same question in other words counts once.

Two steps over the week's distinct wordings (after `reporter.questions.normalise`), each a few matrix
products on all-MiniLM-L6-v2 embeddings (`reporter.embedding`):

1. A wording whose nearest example in `reporter.topics` is at least TOPIC_SIMILARITY alike joins that
   example's topic. Nearest example, not the average over a topic: a topic's examples are deliberately
   unlike each other (short, long, other languages), so only the closest one says anything. The
   comparison is made after removing what every recruiter question shares: the mean of the catalogue's
   examples (the frame "does she ...", which makes unrelated questions score 0.5 raw) and their first
   principal component (17 % of their spread, and it is the language: English examples at one end,
   French, German and Spanish at the other). What is left is what a question asks about, so "Does she
   know TypeScript?" no longer looks like "Has she led a team?" for sharing a frame, and a question in
   German is compared by its content rather than by being German. Before embedding, a word the model
   does not know (it reads it as pieces) is replaced by the catalogue's nearest word at TERM_SIMILARITY
   ("notic" by "notice", "pyhton" by "python"), so a typo costs no more than the typo itself. A wording
   is placed on its own, whatever else the week holds.
2. What is left is grouped among itself, most asked first, each wording joining the first group whose
   founding wording is at least OPEN_SIMILARITY alike (or founding a group). This threshold is high: a
   question about something no topic covers must not be merged with a different one, and the frame that
   recruiters' questions share already makes unrelated questions score 0.5.

Why not string similarity, or clustering without examples: on the labelled set (tests/fixtures/
recruiter_questions.py), no single similarity threshold groups "notice period?" with "When is she available
to join?" without also merging different questions; the figures are in the README.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from difflib import SequenceMatcher, get_close_matches
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
from safetensors import safe_open
from safetensors.numpy import save_file

from reporter.embedding import MODEL_DIRECTORY, MiniLM, ModelMissingError, Vectors, load
from reporter.questions import normalise
from reporter.topics import TERMS, examples

# Chosen on the labelled set's tuning part (9 topics) and on its tuning questions outside every topic
# (tests/fixtures/recruiter_questions.py OUTSIDE), never on its held-out parts, with the catalogue as it now
# is. From 0.46 to 0.48 none of the 20 questions outside every topic is drawn into one and every tuning topic
# keeps at least 83 % of its wordings together (purity 1.00); below, a question is drawn in (1 at 0.44 and
# 0.45: "Does she have experience with COBOL mainframes?" into achievements); above, topics come apart (the
# contract type keeps 75 % at 0.49). 0.47 is the middle of that range.
TOPIC_SIMILARITY = 0.47
# Principal components of the catalogue's examples removed with their mean. One, chosen on the same part:
# with none, 4 to 10 of the 20 questions outside every topic are drawn in from 0.40 to 0.50; with two, the
# safe range is no wider (0.46 to 0.48) and the tuning topics come apart into more groups (16 or 17, not 15).
SHARED_COMPONENTS = 1
# Above the similarity of different questions that share a frame ("Does she know Go?" and "Does she know
# Rust?" score about 0.6), below that of a wording and its typo or a word more.
OPEN_SIMILARITY = 0.8
# Wordings grouped by meaning per report, the most asked first: enough for every list the email shows,
# few enough for the reporter's timeout on a small Lambda (bench/reporter_grouping.py measures the time).
MAX_GROUPED = 500
# How alike a word must be to a topic's term, or to a catalogue word, to count as a typo of it (difflib
# ratio: "pyhton" is 0.83 of "python").
TERM_SIMILARITY = 0.8
# Shorter words are left as written: "perm" is 0.8 of "permit", and short words are mostly known anyway.
TYPO_LENGTH = 5
# Rows compared at a time in step 1, so memory stays flat however many wordings a week holds.
BLOCK = 1024
WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Groups:
    """For each wording (in the order given) its group's index, and each group's topic (None when the
    group formed among the week's wordings alone)."""

    of: list[int]
    topics: list[str | None]


# The topic examples' embeddings, computed when the model is built (`cv_analytics.model_files`) and shipped
# beside it: embedding 527 examples costs about 20 s of CPU, a minute on the reporter's Lambda, every cold
# start; reading them costs milliseconds. The file names the catalogue it holds by EXAMPLES_DIGEST.
EXAMPLES_FILE = "topic-examples.safetensors"
EXAMPLES_DIGEST = "examples_sha256"


def examples_digest(texts: Sequence[str]) -> str:
    """What identifies a catalogue's texts, in order."""
    return hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()


def write_embedded_examples(directory: Path, model: MiniLM | None = None) -> Path:
    """Embed the topic examples into `directory` with `model` (by default the model in `directory`, loaded
    only when there is something to embed), unless the file there holds them already."""
    texts = [text for text, _ in examples()]
    path = directory / EXAMPLES_FILE
    digest = examples_digest(texts)
    if path.exists():
        with safe_open(str(path), framework="numpy") as stored:
            if (stored.metadata() or {}).get(EXAMPLES_DIGEST) == digest:
                return path
    vectors = (model or MiniLM(directory)).embed(texts)
    staged = path.with_suffix(".partial")
    save_file({"vectors": vectors}, str(staged), metadata={EXAMPLES_DIGEST: digest})
    staged.replace(path)
    return path


def embedded_examples(directory: Path, texts: Sequence[str]) -> Vectors:
    """The stored embeddings of `texts`; refuses a file built for another catalogue, or none."""
    path = directory / EXAMPLES_FILE
    if not path.exists():
        raise ModelMissingError(
            f"the topic examples are not embedded in {directory}: build them with `python -m "
            "cv_analytics.model_files`"
        )
    with safe_open(str(path), framework="numpy") as stored:
        if (stored.metadata() or {}).get(EXAMPLES_DIGEST) != examples_digest(texts):
            raise ModelMissingError(
                f"{path} holds the embeddings of another topic catalogue than reporter.topics: build them "
                "again with `python -m cv_analytics.model_files`"
            )
        vectors: Vectors = stored.get_tensor("vectors")
    return vectors


@dataclass(frozen=True)
class _Catalogue:
    """The topic examples embedded once, with what all of them share, to be taken out of every vector."""

    vectors: Vectors
    topic_of: npt.NDArray[np.int64]
    names: list[str]
    mean: Vectors
    components: Vectors
    words: frozenset[str]

    def project(self, vectors: Vectors) -> Vectors:
        """Unit vectors of what is left of `vectors` once the examples' mean and shared components are
        removed."""
        centred = vectors - self.mean
        centred -= (centred @ self.components.T) @ self.components
        norms = np.linalg.norm(centred, axis=1, keepdims=True)
        projected: Vectors = (centred / np.maximum(norms, 1e-12)).astype(np.float32)
        return projected


class QuestionGrouper:
    """Groups wordings by meaning with one loaded model and the topic examples embedded beside it."""

    def __init__(self, model: MiniLM, directory: Path = MODEL_DIRECTORY) -> None:
        self.model = model
        self.directory = directory

    @cached_property
    def _catalogue(self) -> _Catalogue:
        pairs = examples()
        raw = embedded_examples(self.directory, [text for text, _ in pairs])
        mean = raw.mean(axis=0)
        components = np.linalg.svd(raw - mean, full_matrices=False)[2][:SHARED_COMPONENTS]
        names = sorted({topic for _, topic in pairs})
        index = {name: position for position, name in enumerate(names)}
        # Only words the model knows: the catalogue's own typos ("studdy") must not be what a typo becomes.
        words = {
            word
            for text, _ in pairs
            for word in WORD.findall(text.lower())
            if len(word) >= TYPO_LENGTH - 1 and self.model.knows(word)
        }
        words.update(term for terms in TERMS.values() for term in terms)
        catalogue = _Catalogue(
            vectors=raw,
            topic_of=np.array([index[topic] for _, topic in pairs], dtype=np.int64),
            names=names,
            mean=mean,
            components=components.astype(np.float32),
            words=frozenset(words),
        )
        return replace(catalogue, vectors=catalogue.project(raw))

    def group(self, wordings: Sequence[str], weights: Sequence[int] | None = None) -> Groups:
        """Group `wordings` (distinct texts); `weights` (how often each was asked) decides which wording
        founds an open group, the most asked first."""
        count = len(wordings)
        if count == 0:
            return Groups([], [])
        catalogue = self._catalogue
        vectors = self.model.embed(_spelled(wordings, catalogue.words, self.model))
        example_barred = _barred(wordings, catalogue.names)[:, catalogue.topic_of]
        assigned = np.full(count, -1, dtype=np.int64)
        for start in range(0, count, BLOCK):
            similarity = catalogue.project(vectors[start : start + BLOCK]) @ catalogue.vectors.T
            similarity[example_barred[start : start + BLOCK]] = -1.0
            nearest = similarity.argmax(axis=1)
            close = similarity[np.arange(len(nearest)), nearest] >= TOPIC_SIMILARITY
            assigned[start : start + BLOCK] = np.where(close, catalogue.topic_of[nearest], -1)
        groups = [int(topic) for topic in assigned]
        topics: list[str | None] = list(catalogue.names)
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


def _spelled(wordings: Sequence[str], words: frozenset[str], model: MiniLM) -> list[str]:
    """`wordings` with each word the model does not know replaced by the nearest of `words` (the
    catalogue's), when one is at least TERM_SIMILARITY alike; the rest as written."""
    folded: dict[str, str] = {}

    def fold(match: re.Match[str]) -> str:
        word = match.group(0)
        if word not in folded:
            lower = word.lower()
            folded[word] = word
            if len(lower) >= TYPO_LENGTH and lower not in words and not model.knows(lower):
                close = get_close_matches(lower, words, n=1, cutoff=TERM_SIMILARITY)
                folded[word] = close[0] if close else word
        return folded[word]

    return [WORD.sub(fold, wording) for wording in wordings]


def _barred(wordings: Sequence[str], topic_names: list[str]) -> npt.NDArray[np.bool_]:
    """For each wording and topic: True when the topic is about a technology the wording does not name.

    Each distinct word is compared with a topic's terms once: a week's wordings share most of their words,
    and the fuzzy comparison is the costly part.
    """
    barred = np.zeros((len(wordings), len(topic_names)), dtype=np.bool_)
    words_of = [set(normalise(wording).split()) for wording in wordings]
    for column, topic in enumerate(topic_names):
        terms = TERMS.get(topic)
        if not terms:
            continue
        named: dict[str, bool] = {}
        for row, words in enumerate(words_of):
            hit = False
            for word in words:
                known = named.get(word)
                if known is None:
                    known = named[word] = _names(word, terms)
                if known:
                    hit = True
                    break
            barred[row, column] = not hit
    return barred


def _names(word: str, terms: tuple[str, ...]) -> bool:
    if word in terms:
        return True
    if len(word) < 4:
        return False
    for term in terms:
        if len(term) < 4:
            continue
        matcher = SequenceMatcher(None, word, term)
        # The two quick ratios are upper bounds of ratio(): most pairs are ruled out without computing it.
        if (
            matcher.real_quick_ratio() >= TERM_SIMILARITY
            and matcher.quick_ratio() >= TERM_SIMILARITY
            and matcher.ratio() >= TERM_SIMILARITY
        ):
            return True
    return False


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
