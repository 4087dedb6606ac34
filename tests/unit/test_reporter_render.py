"""The email: escaped untrusted text, the same numbers in both parts, inlined CSS, and under Gmail's limit."""

from __future__ import annotations

import email
import random
from dataclasses import replace
from html.parser import HTMLParser

import pytest

from contract.config import SettingsError, load_settings
from cv_analytics.local.outbox import parts
from reporter.fitting import MESSAGE_LIMIT_BYTES, fit
from reporter.mailer import build_message
from reporter.records import Request
from reporter.render import GMAIL_CLIP_BYTES, render, subject
from reporter.settings import ModelPrice, ReporterSettings
from tests.support.reporter_week import HOSTILE_QUESTIONS, WEEK, at, insights_of, random_week

SENDER = "reports@example.dev"
RECIPIENTS = ("owner@example.dev", "second@example.dev")


class _Elements(HTMLParser):
    """Every element and attribute of a document, as a browser's parser would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend(attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(html: str) -> _Elements:
    parser = _Elements()
    parser.feed(html)
    return parser


def _hostile_week() -> list[Request]:
    return [
        Request(f"h{n}", "complete", at(n % 7, 12), question=question, match_type="none",
                sources=("<b>Go</b>",), model="<i>model</i>", country="<GB>", referer="javascript:alert(1)")
        for n, question in enumerate(HOSTILE_QUESTIONS)
    ]  # fmt: skip


def test_hostile_questions_are_escaped_in_the_html() -> None:
    rendered = render(insights_of(_hostile_week()))
    elements = _parse(rendered.html)
    assert {"script", "img", "a", "b", "i"}.isdisjoint(elements.tags)
    assert not any(name.startswith("on") for name, _ in elements.attributes)
    assert not any(value and "javascript:" in value for _, value in elements.attributes)
    shown = " ".join(elements.text)
    assert "<script>alert('x')</script> does she know Go?" in shown  # shown as text, not run
    assert '"><img src=x onerror=alert(1)>' in shown
    assert "{{ 7*7 }}" in shown  # not evaluated as a template either


def test_hostile_questions_are_harmless_in_the_text_part() -> None:
    rendered = render(insights_of(_hostile_week()))
    lines = rendered.text.splitlines()
    assert not any(line.startswith("Subject:") for line in lines)  # no forged header-like lines
    assert any("line one Subject: forged body" in line for line in lines)
    assert "&lt;" not in rendered.text  # plain text is not HTML-escaped: it shows what was typed
    assert "\r" not in rendered.text


def test_the_text_part_carries_the_same_numbers() -> None:
    insights = insights_of(random_week(400, seed=3))
    rendered = render(insights)
    for figure in (
        f"Questions: {insights.totals.requests:,}",
        f"Answered: {insights.totals.answered:,}",
        f"Full {insights.match.full:,}, partial {insights.match.partial:,}, none {insights.match.none:,}",
        f"Failed, a question without a recorded answer: {insights.data_quality.query_only:,}",
    ):
        assert figure in rendered.text
    shown = " ".join(_parse(rendered.html).text)
    assert f"{insights.totals.requests:,}" in shown
    assert f"{insights.data_quality.query_only:,}" in shown


def test_css_is_inlined_for_mail_clients_that_drop_style_blocks() -> None:
    html = render(insights_of(random_week(50))).html
    elements = _parse(html)
    assert "style" not in elements.tags
    assert not any(name == "class" for name, _ in elements.attributes)
    assert 'style="' in html


def test_subject_names_the_week_and_the_headline_figure() -> None:
    previous = [
        Request(f"p{n}", "complete", at(0, 9, week=WEEK.previous()), match_type="full") for n in range(4)
    ]
    current = [Request(f"c{n}", "complete", at(1, 9), match_type="full") for n in range(5)]
    assert subject(insights_of(current, previous)) == (
        "CV chatbot, week 2026-W47: 5 questions (+25% on the week before), 100% answered"
    )
    assert subject(insights_of(current)) == "CV chatbot, week 2026-W47: 5 questions, 100% answered"


def test_an_empty_week_gives_a_short_friendly_email() -> None:
    rendered = render(insights_of([], dlq_depth=None, pending=None))
    assert rendered.subject == "CV chatbot, week 2026-W47: no questions this week"
    assert "Nobody asked the chatbot anything this week." in rendered.html
    assert "Nobody asked the chatbot anything this week." in rendered.text
    assert "not configured" in rendered.text  # no DLQ configured is said, not shown as zero
    assert len(rendered.html) < 20_000


def test_ten_thousand_distinct_long_questions_stay_under_gmails_clipping_limit() -> None:
    rng = random.Random(11)
    words = [
        "kubernetes",
        "python",
        "team",
        "lead",
        "french",
        "remote",
        "salary",
        "visa",
        "golang",
        "aws",
        "<b>",
    ]
    records = [
        Request(f"q{n}", "complete", at(n % 7, n % 24), question=" ".join(rng.choices(words, k=120)),
                match_type=rng.choice(["full", "none"]), match_score=50, sources=(f"source {n}" * 20,),
                model=f"model-{n % 30}", input_tokens=10, output_tokens=10, country=f"C{n}",
                referer=f"h{n}.dev")
        for n in range(10_000)
    ]  # fmt: skip
    rendered, message = fit(insights_of(records), lambda email: build_message(email, SENDER, RECIPIENTS))
    assert len(message) <= MESSAGE_LIMIT_BYTES < GMAIL_CLIP_BYTES
    assert len(rendered.html.encode()) < GMAIL_CLIP_BYTES


def test_the_message_is_multipart_alternative_text_first_then_html() -> None:
    rendered = render(insights_of(random_week(30)))
    raw = build_message(rendered, SENDER, RECIPIENTS)
    message = email.message_from_bytes(raw)
    assert message["From"] == SENDER
    assert message["To"] == "owner@example.dev, second@example.dev"
    assert message["Subject"] == rendered.subject
    assert message.get_content_type() == "multipart/alternative"
    assert list(parts(message)) == ["text/plain", "text/html"]
    assert parts(message)["text/html"] == rendered.html


def test_prices_parse_from_the_environment() -> None:
    settings = load_settings(ReporterSettings, {"REPORT_MODEL_PRICES": "a=1:2, @cf/x/y-z=0.5:0.25"})
    assert settings.model_prices() == {"a": ModelPrice(1, 2), "@cf/x/y-z": ModelPrice(0.5, 0.25)}
    assert load_settings(ReporterSettings, {}).report_currency == "GBP"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("REPORT_MODEL_PRICES", "llama=0.2", "is not model=input:output"),
        ("REPORT_MODEL_PRICES", "llama=cheap:0.2", "is not model=input:output"),
        ("REPORT_MODEL_PRICES", "llama=-1:0.2", "negative price"),
        ("REPORT_TIMEZONE", "Mars/Olympus", "is not an IANA time zone"),
        ("REPORT_CURRENCY", "pounds", "is not a currency code"),
    ],
)
def test_bad_settings_name_the_variable_and_what_is_expected(variable: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message) as raised:
        load_settings(ReporterSettings, {variable: value})
    assert variable in str(raised.value)


def test_answers_timed_before_their_question_are_shown_in_data_quality() -> None:
    week = [Request("odd", "complete", at(0, 11), match_type="full", response_before_query=True)]
    rendered = render(insights_of(week))
    assert "Answers timed before their question (left out of speed): 1" in rendered.text
    assert "Answers timed before their question (left out of speed)" in " ".join(_parse(rendered.html).text)


def test_a_long_tail_left_out_of_busy_days_and_an_estimated_session_count_are_said_so() -> None:
    insights = insights_of(random_week(60))
    insights = replace(
        insights, left_out=12_345, totals=replace(insights.totals, sessions=40_321, sessions_estimated=True)
    )
    rendered = render(insights)
    assert "12,345 more, each worded too rarely to be kept on a busy day, are in the totals" in rendered.text
    assert "12,345 more questions, each worded too rarely" in " ".join(_parse(rendered.html).text)
    assert "Sessions: about 40,321" in rendered.text
    plain = render(insights_of(random_week(60)))
    assert "worded too rarely" not in plain.text and "about" not in plain.text.split("Sessions:")[1][:7]
