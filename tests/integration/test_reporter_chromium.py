"""The email as a browser lays it out: headless Chromium at 600 px, no horizontal overflow.

The screenshot stays in `out/reporter/` (ignored by git) for a person to look at. Chromium is required, not
optional: CI installs the Debian package listed in requirements/apt.txt, and a missing browser fails here.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from reporter.records import Request
from reporter.render import render
from tests.support.reporter_week import HOSTILE_QUESTIONS, at, insights_of, random_week

pytestmark = pytest.mark.integration

OUT = Path(__file__).resolve().parents[2] / "out" / "reporter"
WIDTH = 600
# Reads the laid-out width after load and writes it where --dump-dom shows it. Added to a copy for the
# measurement only: the email itself has no script.
MEASURE = (
    "<script>addEventListener('load', () => {"
    "const e = document.documentElement;"
    "const width = Math.max(e.scrollWidth, document.body.scrollWidth);"
    "document.body.setAttribute('data-scroll-width', String(width));"
    "});</script>"
)


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(
        "Chromium is not installed: apt-get install -y --no-install-recommends chromium "
        "(./taskw pytest installs it from requirements/apt.txt)"
    )


def _run(*arguments: str) -> str:
    with tempfile.TemporaryDirectory() as profile:
        completed = subprocess.run(
            [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--no-first-run", "--disable-sync", "--hide-scrollbars",
             f"--user-data-dir={profile}", *arguments],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-2000:]
    return completed.stdout


def _busy_week() -> list[Request]:
    long_word = "Supercalifragilisticexpialidocious" * 6
    extra = [
        Request(f"x{n}", "complete", at(n % 7, 10), question=question, match_type="none",
                sources=(long_word,),
                model="@cf/meta/llama-3.3-70b-instruct-fp8-fast", input_tokens=10**6, output_tokens=10**6,
                country="United Kingdom of Great Britain and Northern Ireland",
                referer="https://a-very-long-subdomain-name.recruiting-platform.example.com/path")
        for n, question in enumerate([*HOSTILE_QUESTIONS, long_word, "x" * 500])
    ]  # fmt: skip
    return random_week(600) + extra


@pytest.mark.parametrize("name", ["busy", "empty"])
def test_the_email_fits_600_pixels_without_horizontal_scrolling(name: str) -> None:
    insights = insights_of(_busy_week() if name == "busy" else [])
    html = render(insights).html
    OUT.mkdir(parents=True, exist_ok=True)
    page = OUT / f"email-{name}.html"
    page.write_text(html, encoding="utf-8")
    probe = OUT / f"email-{name}-measure.html"
    probe.write_text(html.replace("</body>", MEASURE + "</body>"), encoding="utf-8")

    dom = _run(f"--window-size={WIDTH},1000", "--virtual-time-budget=2000", "--dump-dom", probe.as_uri())
    measured = re.search(r'data-scroll-width="(\d+)"', dom)
    assert measured is not None, "the page did not report its width"
    assert int(measured.group(1)) <= WIDTH

    screenshot = OUT / f"email-{name}.png"
    screenshot.unlink(missing_ok=True)
    _run(f"--window-size={WIDTH},3200", f"--screenshot={screenshot}", page.as_uri())
    assert screenshot.stat().st_size > 10_000
