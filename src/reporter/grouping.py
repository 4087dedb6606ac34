"""Questions grouped by meaning: the same question in other words counts once.

Two steps over the week's distinct wordings (after `reporter.questions.normalise`), each a few matrix
products on all-MiniLM-L6-v2 embeddings (`reporter.embedding`):

1. A classifier fitted on the catalogue (`reporter.topic_classifier`: the examples of `reporter.topics`,
   and those of `reporter.off_topic` as "none of the topics") gives each wording a probability per
   topic; the wording joins the most probable topic when that is not "none of the topics" and is at
   least TOPIC_PROBABILITY. A technology topic takes only wordings that name its technology (or a typo
   of it). Before embedding, a word the model does not know (it reads it as pieces) is replaced by the
   catalogue's nearest word at TERM_SIMILARITY ("notic" by "notice", "pyhton" by "python"), so a typo
   costs no more than the typo itself. A wording is placed on its own, whatever else the week holds.
2. What is left is grouped among itself, most asked first, each wording joining the first group whose
   founding wording is at least OPEN_SIMILARITY alike (or founding a group). This threshold is high: a
   question about something no topic covers must not be merged with a different one, and the frame that
   recruiters' questions share already makes unrelated questions score 0.5.

Why not string similarity, clustering without examples, or the nearest example: on the labelled set
(tests/fixtures/recruiter_questions.py), no single similarity threshold groups "notice period?" with "When
is she available to join?" without also merging different questions, and a threshold on the nearest
example leaves a topic's rarer wordings out; the figures are in the README.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher, get_close_matches
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
from safetensors import safe_open
from safetensors.numpy import save_file

from reporter.embedding import MODEL_DIRECTORY, MiniLM, ModelMissingError, load
from reporter.off_topic import OFF_TOPIC
from reporter.questions import normalise
from reporter.topic_classifier import SETTINGS, TopicClassifier
from reporter.topics import TERMS, examples

# Chosen on the labelled set's tuning part (9 topics) and on its tuning questions outside every topic
# (tests/fixtures/recruiter_questions.py OUTSIDE), never on its other parts, with the catalogue as it now is.
# From the most probable class alone (no threshold) to 0.75 every tuning topic keeps at least 83 % of its
# wordings together and none of the 20 questions outside every topic is drawn in (the off-topic class
# takes them all); from 0.76 the contract type comes apart (77 %). 0.375 is the middle of that range.
TOPIC_PROBABILITY = 0.375
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


# The topic classifier fitted on the catalogue, computed when the model is built (`cv_analytics.model_files`)
# and shipped beside it: embedding the catalogue's 1,121 wordings and fitting took 10 s of CPU here, about
# half a minute of the reporter's Lambda at every cold start; reading its 28 KB takes milliseconds. Only the
# classifier ships, not the embeddings it was fitted on (1.7 MB, and the reporter's zip is near Lambda's
# limit). The file names the catalogue and the fit it holds by CATALOGUE_DIGEST.
CLASSIFIER_FILE = "topic-classifier.safetensors"
CATALOGUE_DIGEST = "catalogue_sha256"


def catalogue_texts() -> list[str]:
    """The topic examples in `examples()` order, then the off-topic ones."""
    return [text for text, _ in examples()] + list(OFF_TOPIC)


def catalogue_digest(texts: Sequence[str]) -> str:
    """What identifies a catalogue's texts, in order, and the classifier's fit on them."""
    return hashlib.sha256("\n".join([SETTINGS, *texts]).encode("utf-8")).hexdigest()


def _topic_index() -> tuple[list[str], npt.NDArray[np.int64]]:
    """The topics' names in order, and each example's topic as an index into them."""
    pairs = examples()
    names = sorted({topic for _, topic in pairs})
    index = {name: position for position, name in enumerate(names)}
    return names, np.array([index[topic] for _, topic in pairs], dtype=np.int64)


def fit_classifier(model: MiniLM) -> TopicClassifier:
    """The topic classifier fitted on the catalogue as `model` embeds it."""
    _, topic_of = _topic_index()
    vectors = model.embed(catalogue_texts())
    return TopicClassifier.fit(vectors[: len(topic_of)], topic_of, vectors[len(topic_of) :])


def write_classifier(directory: Path, model: MiniLM | None = None) -> Path:
    """Fit the topic classifier on the catalogue embedded by `model` (by default the model in `directory`,
    loaded only when there is something to fit) into `directory`, unless the file there holds it already."""
    path = directory / CLASSIFIER_FILE
    digest = catalogue_digest(catalogue_texts())
    if path.exists():
        with safe_open(str(path), framework="numpy") as stored:
            if (stored.metadata() or {}).get(CATALOGUE_DIGEST) == digest:
                return path
    classifier = fit_classifier(model or MiniLM(directory))
    staged = path.with_suffix(".partial")
    save_file(classifier.tensors(), str(staged), metadata={CATALOGUE_DIGEST: digest})
    staged.replace(path)
    return path


def stored_classifier(directory: Path) -> TopicClassifier:
    """The topic classifier stored in `directory`; refuses one fitted on another catalogue or with other
    settings, or none."""
    path = directory / CLASSIFIER_FILE
    if not path.exists():
        raise ModelMissingError(
            f"the topic classifier is not built in {directory}: build it with `python -m "
            "cv_analytics.model_files`"
        )
    with safe_open(str(path), framework="numpy") as stored:
        if (stored.metadata() or {}).get(CATALOGUE_DIGEST) != catalogue_digest(catalogue_texts()):
            raise ModelMissingError(
                f"{path} was fitted on another topic catalogue than reporter.topics: build it again with "
                "`python -m cv_analytics.model_files`"
            )
        return TopicClassifier.from_tensors({name: stored.get_tensor(name) for name in stored.keys()})  # noqa: SIM118


@dataclass(frozen=True)
class _Catalogue:
    """The topic classifier, the topics' names in its order, and the words a typo may be read as."""

    classifier: TopicClassifier
    names: list[str]
    words: frozenset[str]


class QuestionGrouper:
    """Groups wordings by meaning with one loaded model and the topic classifier fitted beside it."""

    def __init__(self, model: MiniLM, directory: Path = MODEL_DIRECTORY) -> None:
        self.model = model
        self.directory = directory

    @cached_property
    def _catalogue(self) -> _Catalogue:
        names, _ = _topic_index()
        # Only words the model knows: the catalogue's own typos ("studdy") must not be what a typo becomes.
        words = {
            word
            for text, _ in examples()
            for word in WORD.findall(text.lower())
            if len(word) >= TYPO_LENGTH - 1 and self.model.knows(word)
        }
        words.update(term for terms in TERMS.values() for term in terms)
        classifier = stored_classifier(self.directory)
        return _Catalogue(classifier=classifier, names=names, words=frozenset(words))

    def group(self, wordings: Sequence[str], weights: Sequence[int] | None = None) -> Groups:
        """Group `wordings` (distinct texts); `weights` (how often each was asked) decides which wording
        founds an open group, the most asked first."""
        count = len(wordings)
        if count == 0:
            return Groups([], [])
        catalogue = self._catalogue
        vectors = self.model.embed(_spelled(wordings, catalogue.words, self.model))
        barred = _barred(wordings, catalogue.names)
        assigned = np.concatenate(
            [
                catalogue.classifier.assign(
                    vectors[start : start + BLOCK], barred[start : start + BLOCK], TOPIC_PROBABILITY
                )
                for start in range(0, count, BLOCK)
            ]
        )
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
