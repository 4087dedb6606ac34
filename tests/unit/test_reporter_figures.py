"""Figures merge exactly: a week merged from its days' figures is the week counted from its records."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reporter.figures import Figures, FiguresFormatError, bounded, count, from_json, to_json
from reporter.records import Request

QUESTIONS = ("What is her notice period?", "what is her notice period", "Does she speak French?", "<b>x</b>")


def merged(spans: list[Figures]) -> Figures:
    """The figures of several spans merged into new ones, as the report merges a week's days."""
    total = Figures()
    for span in spans:
        total.merge(span)
    return total


@st.composite
def requests(draw: st.DrawFn) -> Request:
    correlation = draw(st.sampled_from(["complete", "complete", "query_only", "response_only"]))
    answered = correlation != "query_only"
    return Request(
        request_id=draw(st.text("abcdef0123", min_size=1, max_size=6)),
        correlation=correlation,
        timestamp=draw(st.integers(1_700_000_000_000, 1_700_000_900_000)),
        session_id=draw(st.sampled_from([None, "anonymous", "s1", "s2", "s3"])),
        question=draw(st.sampled_from(QUESTIONS)) if correlation != "response_only" else None,
        match_type=draw(st.sampled_from(["full", "partial", "none"])) if answered else None,
        match_score=draw(st.floats(0, 100).map(lambda score: round(score, 3))) if answered else None,
        latency_ms=draw(st.none() | st.floats(0, 60_000)),
        cache_hit=draw(st.none() | st.booleans()),
        sources=tuple(draw(st.lists(st.sampled_from(["Go", "AWS", "Python"]), max_size=2))),
        model=draw(st.sampled_from([None, "llama", "mistral"])),
        input_tokens=draw(st.none() | st.integers(0, 2000)),
        output_tokens=draw(st.none() | st.integers(0, 500)),
        outcome=draw(st.sampled_from([None, "answered", "rejected", "error", "no_results"])),
        country=draw(st.sampled_from([None, "GB", "DE"])),
        referer=draw(st.sampled_from([None, "https://www.linkedin.com/in/x", "example.dev/cv"])),
        healed=draw(st.booleans()),
        response_before_query=draw(st.booleans()),
    )


@settings(max_examples=200, deadline=None)
@given(records=st.lists(requests(), max_size=40), data=st.data())
def test_figures_merged_from_any_split_in_any_order_equal_the_figures_of_all_records(
    records: list[Request], data: st.DataObject
) -> None:
    cuts = sorted(data.draw(st.lists(st.integers(0, len(records)), max_size=4)))
    parts = [records[start:end] for start, end in zip([0, *cuts], [*cuts, len(records)], strict=True)]
    spans = [from_json(to_json(count(part))) for part in data.draw(st.permutations(parts))]
    whole = count(data.draw(st.permutations(records)))
    assert to_json(merged(spans)) == to_json(whole)


def test_a_wordings_example_is_its_smallest_spelling_not_in_capitals_whatever_came_first() -> None:
    spellings = ["what is her notice period", "WHAT IS HER NOTICE PERIOD?", "What is her notice period?"]
    records = [
        Request(str(n), "complete", n, question=spelling, match_type="full")
        for n, spelling in enumerate(spellings)
    ]
    assert count(records).questions == count(records[::-1]).questions
    (tally,) = count(records).questions.values()
    assert (tally.example, tally.count) == ("What is her notice period?", 3)


def test_scores_are_summed_exactly_so_an_average_does_not_depend_on_the_order() -> None:
    scores = [0.1, 0.2, 0.3, 33.3, 66.7]
    records = [
        Request(str(n), "complete", n, question="q", match_type="full", match_score=s)
        for n, s in enumerate(scores)
    ]
    forward, backward = count(records), count(records[::-1])
    assert forward.average_score == backward.average_score == pytest.approx(sum(scores) / 5)


def test_bounding_keeps_the_most_asked_wordings_and_counts_what_it_left_out() -> None:
    records = [
        Request(f"{word}-{n}", "complete", n, question=f"question {word}", match_type="none")
        for word, times in (("a", 5), ("b", 4), ("c", 1), ("d", 1), ("e", 1))
        for n in range(times)
    ]
    figures = bounded(count(records), wordings=2, names=10)
    assert sorted(figures.questions) == ["question a", "question b"]
    assert sorted(figures.unanswered) == ["question a", "question b"]
    assert (figures.left_out["questions"].wordings, figures.left_out["questions"].questions) == (3, 3)
    assert figures.requests == figures.missing == 12  # requests are always all counted


def test_bounded_figures_merge_their_left_out_counts() -> None:
    left = bounded(
        count([Request(str(n), "complete", n, question=f"q{n}", match_type="full") for n in range(3)]), 1, 10
    )
    total = merged([left, left])
    assert total.left_out["questions"].questions == 4
    assert total.left_out["questions"].wordings == 4


def test_a_malformed_stored_rollup_names_the_part_that_is_wrong() -> None:
    stored = to_json(count([Request("a", "complete", 1, question="q", match_type="full")]))
    stored["latency"] = {"count": "many"}
    with pytest.raises(FiguresFormatError, match="'latency'"):
        from_json(stored)
    del stored["counts"]["requests"]
    with pytest.raises(FiguresFormatError, match="'counts'"):
        from_json(stored)
