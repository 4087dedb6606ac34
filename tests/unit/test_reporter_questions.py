"""Grouping questions: one question asked several ways counts once; untrusted text fits on one line."""

from __future__ import annotations

import random

from reporter.questions import display_text, merge_near_duplicates, normalise, tally_questions, top_questions


def test_normalising_folds_case_punctuation_and_whitespace() -> None:
    assert normalise("  What's her   PYTHON experience?!  ") == "whats her python experience"
    assert (
        normalise("\uff2b\uff55\uff42\uff45\uff52\uff4e\uff45\uff54\uff45\uff53\uff1f") == "kubernetes"
    )  # full-width forms fold too
    assert normalise("Où a-t-elle travaillé ?") == "où atelle travaillé"


def test_near_duplicates_merge_into_the_most_asked_spelling() -> None:
    tallies = tally_questions(
        [("Has she led a team using Kubernetes?", 80.0)] * 3
        + [("Has she lead a team using Kubernetes", 60.0)]
        + [("Does she speak French?", None)] * 2
    )
    merged = merge_near_duplicates(tallies)
    assert [(tally.example, tally.count, tally.average_score) for tally in merged] == [
        ("Has she led a team using Kubernetes?", 4, 75.0),
        ("Does she speak French?", 2, None),
    ]


def test_different_questions_stay_apart() -> None:
    tallies = tally_questions([("Does she know Go?", None), ("Does she know Java?", None)])
    assert len(merge_near_duplicates(tallies)) == 2


def test_top_questions_are_capped_and_cut_to_one_line() -> None:
    rng = random.Random(3)
    words = ["kubernetes", "python", "team", "lead", "french", "remote", "salary", "visa", "golang", "aws"]
    questions = [" ".join(rng.choices(words, k=40)) for _ in range(50)]
    tallies = tally_questions([(question, None) for question in questions])
    groups = top_questions(tallies, limit=10, text_limit=40)
    assert len(groups) == 10
    assert all(len(group.text) <= 40 and group.text.endswith("…") for group in groups)


def test_display_text_removes_line_breaks_and_control_characters() -> None:
    assert display_text("line one\r\nSubject: forged\x00\x1b[31m", 100) == "line one Subject: forged [31m"
    assert display_text("short", 10) == "short"
    assert display_text("abcdefghijkl", 5) == "abcd…"
