"""Keeping the whole email under Gmail's clipping limit, whatever recruiters typed.

The lists are capped in characters, but what counts is bytes on the wire: a CJK character is three bytes of
UTF-8, an emoji four, and `"` becomes `&#34;` in the HTML. So the size is checked where it is known, on the
finished MIME message, and while it is over the limit the lists are cut shorter and the email rendered again.
The last step leaves out every list of untrusted text, so its size depends on the template alone: the
guarantee holds by construction, not by an estimate of the worst data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from reporter.questions import display_text
from reporter.render import GMAIL_CLIP_BYTES, RenderedEmail, render
from reporter.view_model import (
    TOP_QUESTIONS,
    TOP_SOURCES,
    DataQuality,
    QuestionGroup,
    Ranked,
    WeekInsights,
    fold_models,
)

# Headers that SES and the relays add on the way (DKIM-Signature, Feedback-ID, Received) are not in the
# message built here; they are kept out of Gmail's budget.
TRANSIT_HEADERS_BYTES = 4 * 1024
MESSAGE_LIMIT_BYTES = GMAIL_CLIP_BYTES - TRANSIT_HEADERS_BYTES


@dataclass(frozen=True)
class Caps:
    """How much untrusted text the email shows: rows per list and characters per row."""

    questions: int
    question_text: int
    names: int
    name_text: int


# Tried in turn after the full report is over the limit; the last shows no untrusted text at all.
SHORTER = (
    Caps(questions=TOP_QUESTIONS, question_text=80, names=TOP_SOURCES, name_text=30),
    Caps(questions=5, question_text=60, names=5, name_text=20),
    Caps(questions=3, question_text=40, names=3, name_text=16),
)
MINIMAL = Caps(questions=0, question_text=0, names=0, name_text=0)


def _questions(groups: list[QuestionGroup], caps: Caps) -> list[QuestionGroup]:
    return [
        replace(
            group,
            text=display_text(group.text, caps.question_text),
            closest=tuple(
                replace(source, name=display_text(source.name, caps.name_text))
                for source in group.closest[: caps.names]
            ),
        )
        for group in groups[: caps.questions]
    ]


def _ids(ids: list[str], caps: Caps) -> list[str]:
    return [display_text(request_id, caps.name_text) for request_id in ids[: caps.names]]


def _names(ranked: list[Ranked], caps: Caps) -> list[Ranked]:
    return [replace(item, name=display_text(item.name, caps.name_text)) for item in ranked[: caps.names]]


def shorten(insights: WeekInsights, caps: Caps) -> WeekInsights:
    """The same figures with the lists cut to `caps`; totals and counts are untouched."""
    models = [
        replace(usage, model=display_text(usage.model, caps.name_text)) if caps.names else usage
        for usage in fold_models(insights.models, caps.names)
    ]
    quality: DataQuality = replace(
        insights.data_quality,
        quarantine_reasons=_names(insights.data_quality.quarantine_reasons, caps),
        error_ids=_ids(insights.data_quality.error_ids, caps),
        orphan_ids=_ids(insights.data_quality.orphan_ids, caps),
    )
    return replace(
        insights,
        top_questions=_questions(insights.top_questions, caps),
        unanswered=_questions(insights.unanswered, caps),
        weak=_questions(insights.weak, caps),
        refused_examples=[
            replace(example, name=display_text(example.name, caps.question_text))
            for example in insights.refused_examples[: caps.questions]
        ],
        sources=_names(insights.sources, caps),
        countries=_names(insights.countries, caps),
        referrers=_names(insights.referrers, caps),
        models=models,
        data_quality=quality,
        shortened=True,
    )


def fit(
    insights: WeekInsights, build: Callable[[RenderedEmail], bytes], limit: int = MESSAGE_LIMIT_BYTES
) -> tuple[RenderedEmail, bytes]:
    """The email and its MIME message (from `build`), with the longest lists that keep it within `limit`."""
    email = render(insights)
    message = build(email)
    for caps in SHORTER:
        if len(message) <= limit:
            return email, message
        email = render(shorten(insights, caps))
        message = build(email)
    if len(message) <= limit:
        return email, message
    email = render(shorten(insights, MINIMAL))
    return email, build(email)
