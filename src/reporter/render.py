"""The email from the week's insights: subject, HTML with inlined CSS, and plain text with the same numbers.

Recruiters' questions are untrusted text, so the HTML template is rendered with autoescaping on and every
list is capped and every question cut to one short line: the message stays under Gmail's 102 KB clipping
limit whatever the week held. Layout is tables with inline styles, which is what Gmail, Outlook and Apple Mail
all render the same way; bar charts are table cells with a width, no images and no scripts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from premailer import Premailer

from reporter.view_model import WeekInsights

# Gmail clips a message whose HTML is larger than this and hides the rest behind a link.
GMAIL_CLIP_BYTES = 102 * 1024
CURRENCY_SYMBOLS = {"GBP": "£", "USD": "$", "EUR": "€"}
# What a figure that does not exist shows (an en dash), and the sign of a fall (a minus sign).
MISSING = "\u2013"
MINUS = "\u2212"


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str


def number(value: float | None) -> str:
    """`12,345`; MISSING for a figure that does not exist."""
    if value is None:
        return MISSING
    return f"{value:,.0f}"


def percent(fraction: float | None, digits: int = 0) -> str:
    if fraction is None:
        return MISSING
    return f"{fraction * 100:.{digits}f}%"


def signed_percent(fraction: float | None) -> str:
    """`+12%`, `-3%` (with a minus sign), `new` when the week before had nothing to compare with."""
    if fraction is None:
        return "new"
    rounded = round(fraction * 100)
    if rounded == 0:
        return "±0%"
    return f"+{rounded}%" if rounded > 0 else f"{MINUS}{-rounded}%"


def versus(fraction: float | None) -> str:
    """How a figure compares with the week before, as a phrase."""
    if fraction is None:
        return "none the week before"
    if round(fraction * 100) == 0:
        return "as many as the week before"
    return f"{signed_percent(fraction)} on the week before"


# A percentage of a smaller base than this says more than the counts can carry: 3 up from 2 is not "+50%".
PERCENT_BASE = 10


def compared(current: float, previous: float, *, with_current: bool = True) -> str:
    """`18, up from 12 (+50%)`: the counts always, the percentage only on a base of PERCENT_BASE or more.
    Without `with_current`, only the comparison (`up from 12 (+50%)`), for where the figure stands above."""
    now, before = number(current), number(previous)
    lead = f"{now}, " if with_current else ""
    if previous == 0:
        return f"{lead}none the week before" if current else "none, as the week before"
    if current == previous:
        return f"{lead}as many as the week before"
    direction = "up" if current > previous else "down"
    phrase = f"{lead}{direction} from {before}"
    if previous < PERCENT_BASE:
        return phrase
    return f"{phrase} ({signed_percent((current - previous) / previous)})"


def wordings(count: int) -> str:
    return "1 wording" if count == 1 else f"{number(count)} wordings"


def week_day(day: date) -> str:
    """`16 Nov`: a week's Monday in the eight-week row."""
    return day.strftime("%-d %b")


def column_height(count: float, largest: float, tallest: int = 48) -> int:
    """Height in pixels of a column in the eight-week row; at least 2 so a week with traffic shows."""
    if count <= 0 or largest <= 0:
        return 0
    return max(2, round(count * tallest / largest))


def duration(milliseconds: float | None) -> str:
    """`850 ms` or `2.4 s`."""
    if milliseconds is None:
        return MISSING
    if milliseconds < 1000:
        return f"{milliseconds:.0f} ms"
    return f"{milliseconds / 1000:.1f} s"


def money(amount: float | None, currency: str) -> str:
    if amount is None:
        return "no price set"
    symbol = CURRENCY_SYMBOLS.get(currency)
    text = f"{amount:,.4f}" if 0 < amount < 0.01 else f"{amount:,.2f}"
    return f"{symbol}{text}" if symbol else f"{text} {currency}"


def score(value: float | None) -> str:
    return MISSING if value is None else f"{value:.0f}"


def bar_width(count: float, largest: float) -> int:
    """Width in percent of a bar chart cell; at least 1 so a non-zero bar stays visible."""
    if count <= 0 or largest <= 0:
        return 0
    return max(1, round(count * 100 / largest))


def weekday(day: date) -> str:
    return day.strftime("%a %-d %b")


def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("reporter", "templates"),
        autoescape=select_autoescape(
            enabled_extensions=("html",), disabled_extensions=("txt",), default_for_string=True, default=True
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters.update(
        number=number,
        percent=percent,
        signed_percent=signed_percent,
        versus=versus,
        duration=duration,
        money=money,
        score=score,
        weekday=weekday,
        week_day=week_day,
        wordings=wordings,
    )
    environment.globals.update(bar_width=bar_width, compared=compared, column_height=column_height)
    return environment


_ENVIRONMENT = _environment()


def subject(insights: WeekInsights) -> str:
    """The week and its headline figure, readable in an inbox list."""
    if insights.quiet:
        return f"CV chatbot, week {insights.week}: no events arrived, check the Worker's analytics"
    if insights.empty:
        return f"CV chatbot, week {insights.week}: no questions this week"
    totals = insights.totals
    questions = "1 question" if totals.requests == 1 else f"{number(totals.requests)} questions"
    relative = insights.requests_change.relative
    against = "" if relative is None else f" ({versus(relative)})"
    return f"CV chatbot, week {insights.week}: {questions}{against}, {percent(totals.answer_rate)} answered"


def inline_css(html: str) -> str:
    """Move the template's stylesheet onto the elements: many mail clients drop <style> blocks."""
    return str(
        Premailer(
            html,
            allow_network=False,
            remove_classes=True,
            disable_validation=True,
            cssutils_logging_level=logging.CRITICAL,
        ).transform()
    )


def render(insights: WeekInsights) -> RenderedEmail:
    context: dict[str, Any] = {"r": insights, "subject": subject(insights)}
    html = _ENVIRONMENT.get_template("report.html").render(context)
    text = _ENVIRONMENT.get_template("report.txt").render(context)
    return RenderedEmail(subject=context["subject"], html=inline_css(html), text=text)
