"""The whole MIME message stays under Gmail's clipping limit whatever the questions are made of.

Caps count characters, the wire counts bytes: CJK is three bytes of UTF-8 a character, an emoji four, and `"`,
`<`, `>`, `&` grow when escaped. These weeks go through `service.prepare`, the path the Lambda sends from.
"""

from __future__ import annotations

import email
import random
from collections.abc import Iterator
from datetime import date
from html.parser import HTMLParser

import pytest

from contract.config import load_settings
from cv_analytics.local.outbox import parts
from reporter import service
from reporter.fitting import MESSAGE_LIMIT_BYTES, fit
from reporter.mailer import build_message, transfer_encoding
from reporter.records import Quarantined, Request
from reporter.render import GMAIL_CLIP_BYTES, render
from reporter.settings import ReporterSettings
from tests.support.reporter_week import WEEK, at, insights_of, random_week

SENDER = "reports@example.dev"
RECIPIENTS = ("owner@example.dev",)
SETTINGS = load_settings(ReporterSettings, {"REPORT_SENDER": SENDER, "REPORT_RECIPIENTS": RECIPIENTS[0]})

CJK = "她会说法语吗有没有团队管理经验在柏林工作签证薪资期望远程é"
EMOJI_MARKUP = ("🚀", "😀", "👩‍💻", "🇬🇧", '"', "<", ">", "&", "<b>")
INJECTION = '"><img src=x onerror=alert(1)>'


class _MemoryReader:
    """The reader's interface over records in memory."""

    def __init__(self, records: list[Request]) -> None:
        self._records = records

    def partition_requests(self, partitions: list[str]) -> Iterator[tuple[str, list[Request]]]:
        yield partitions[0], self._records

    def quarantined(self, days: list[date]) -> list[Quarantined]:
        return []

    def dlq_depth(self) -> int | None:
        return 0

    def pending_requests(self) -> int:
        return 0


class _NoRollups:
    """A table that has no rollups yet: every day is read from the records."""

    def read(self, first: date, last: date) -> dict[object, object]:
        return {}

    def flagged(self) -> list[object]:
        return []


def _long_text(rng: random.Random, pieces: tuple[str, ...] | str, length: int) -> str:
    return "".join(rng.choice(pieces) for _ in range(length))


def _week_of(pieces: tuple[str, ...] | str, seed: int) -> list[Request]:
    """10,000 distinct long questions, and sources, models and countries made of the same characters."""
    rng = random.Random(seed)
    return [
        Request(
            f"q{n}",
            "complete",
            at(n % 7, n % 24),
            question=f"{n} {INJECTION} {_long_text(rng, pieces, 300)}",
            match_type=rng.choice(["full", "none"]),
            match_score=50,
            sources=(_long_text(rng, pieces, 80),),
            model=_long_text(rng, pieces, 70),
            input_tokens=10,
            output_tokens=10,
            country=_long_text(rng, pieces, 20),
            referer=f"h{n}.dev",
        )
        for n in range(10_000)
    ]


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes.update(name for name, _ in attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.mark.parametrize(
    ("pieces", "seed"),
    [pytest.param(CJK, 1, id="cjk-and-accents"), pytest.param(EMOJI_MARKUP, 2, id="emoji-and-markup")],
)
def test_ten_thousand_non_ascii_questions_give_a_message_under_gmails_limit(
    pieces: tuple[str, ...] | str, seed: int
) -> None:
    report = service.prepare(
        _MemoryReader(_week_of(pieces, seed)),  # type: ignore[arg-type]
        WEEK,
        SETTINGS,
        rollups=_NoRollups(),  # type: ignore[arg-type]
    )
    print(f"MIME message {len(report.message):,} bytes")
    assert len(report.message) <= MESSAGE_LIMIT_BYTES < GMAIL_CLIP_BYTES
    assert report.insights.totals.requests == 10_000
    html = parts(email.message_from_bytes(report.message))["text/html"]
    assert html == report.email.html
    elements = _Tags()
    elements.feed(html)
    assert {"script", "img", "b"}.isdisjoint(elements.tags)
    assert not any(name.startswith("on") for name in elements.attributes)
    shown = " ".join(elements.text)
    assert "10,000" in shown
    assert INJECTION in shown  # shown as text
    assert any(character in shown for character in "她🚀")  # the questions are shortened, not dropped
    if "<" in pieces:
        assert "&lt;" in html  # escaped, not markup


def test_a_week_of_ascii_questions_is_not_shortened() -> None:
    report = service.prepare(
        _MemoryReader(random_week(400)),  # type: ignore[arg-type]
        WEEK,
        SETTINGS,
        rollups=_NoRollups(),  # type: ignore[arg-type]
    )
    assert "shortened to keep" not in report.email.text
    # Of the two spellings of one wording, the smallest is shown, whatever order they came in.
    assert "Has she led a team using Kubernetes?" in report.email.text


def test_the_smaller_transfer_encoding_is_chosen_per_part() -> None:
    assert transfer_encoding("Is she on call? " * 100) == "quoted-printable"
    assert transfer_encoding(CJK * 100) == "base64"
    raw = build_message(render(insights_of(random_week(50))), SENDER, RECIPIENTS)
    assert raw.count(b"Content-Transfer-Encoding: quoted-printable") == 2


def test_when_nothing_else_fits_every_list_of_untrusted_text_is_left_out() -> None:
    insights = insights_of(_week_of(CJK, 3)[:500])
    rendered, raw = fit(insights, lambda email: build_message(email, SENDER, RECIPIENTS), limit=1)
    texts = parts(email.message_from_bytes(raw))
    assert texts["text/plain"] == rendered.text
    assert not any(character in rendered.html + rendered.text for character in CJK)
    assert "Left out to keep this email under Gmail's size limit." in rendered.text
    assert "Questions: 500" in rendered.text
    assert len(raw) < 50_000  # the template and the figures alone
