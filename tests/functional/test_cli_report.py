"""`cv-analytics report preview|send` against moto server, and the messages a wrong invocation gets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from contract.config import load_settings
from cv_analytics.cli import app
from cv_analytics.local.moto_server import MotoServer
from cv_analytics.local.outbox import sent_messages
from reporter.settings import ReporterSettings
from reporter.store import AnalyticsReader
from tests.support.reporter_tables import create_tables, put_requests, verify_sender
from tests.support.reporter_week import WEEK, random_week

RUNNER = CliRunner()
_BOX = re.compile(r"[\s│╭╮╰╯─]+")


def _flat(text: str) -> str:
    """Output without Rich's panel borders and line wrapping, so a message can be matched whole."""
    return _BOX.sub(" ", text)


@pytest.fixture
def configured(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> ReporterSettings:
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("REPORT_SENDER", "reports@example.dev")
    monkeypatch.setenv("REPORT_RECIPIENTS", "owner@example.dev")
    settings = load_settings(ReporterSettings)
    AnalyticsReader(settings)
    create_tables()
    put_requests(random_week(40), shards=1)
    return settings


def test_a_malformed_week_names_the_expected_format(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    result = RUNNER.invoke(app, ["report", "preview", "--week", "2026-47"])
    assert result.exit_code == 2
    assert "'2026-47' is not an ISO week: expected YYYY-Www, e.g. 2026-W47" in _flat(result.output)


def test_preview_writes_the_html_and_text_without_sending(
    configured: ReporterSettings, moto_server: MotoServer, tmp_path: Path
) -> None:
    out = tmp_path / "preview" / "report.html"
    result = RUNNER.invoke(app, ["report", "preview", "--week", str(WEEK), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "questions" in result.output and "40" in result.output
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert "HEADLINES" in out.with_suffix(".txt").read_text()
    assert sent_messages(moto_server.endpoint_url) == []


def test_send_sends_once_and_force_sends_again(configured: ReporterSettings, moto_server: MotoServer) -> None:
    verify_sender(configured)
    first = RUNNER.invoke(app, ["report", "send", "--week", str(WEEK)])
    assert first.exit_code == 0, first.output
    assert "sent" in first.output
    again = RUNNER.invoke(app, ["report", "send", "--week", str(WEEK)])
    assert again.exit_code == 0
    assert "Already sent; nothing done. Use --force to send it again." in _flat(again.output)
    forced = RUNNER.invoke(app, ["report", "send", "--week", str(WEEK), "--force"])
    assert forced.exit_code == 0
    assert len(sent_messages(moto_server.endpoint_url)) == 2


def test_send_without_recipients_says_which_variable_to_set(
    configured: ReporterSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REPORT_RECIPIENTS")
    result = RUNNER.invoke(app, ["report", "send", "--week", str(WEEK)])
    assert result.exit_code == 1
    assert "REPORT_RECIPIENTS is not set: give the comma-separated addresses to send to" in _flat(
        result.output
    )


def test_missing_tables_are_named(
    moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("ANALYTICS_TABLE", "no-such-table")
    result = RUNNER.invoke(app, ["report", "preview", "--week", str(WEEK), "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 1
    flat = _flat(result.output)
    assert f"reading or sending through {moto_server.endpoint_url} failed" in flat
    assert "Check that the tables no-such-table and" in flat


def test_a_bad_setting_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPORT_TIMEZONE", "Europe/Atlantis")
    result = RUNNER.invoke(app, ["report", "preview"])
    assert result.exit_code == 1
    assert "REPORT_TIMEZONE='Europe/Atlantis' is not an IANA time zone" in _flat(result.output)


ADVICE = "give comma-separated addresses such as owner@example.com"


@pytest.mark.parametrize(
    ("setting", "line"),
    [
        (("REPORT_RECIPIENTS", "owner@example.com\r\nBcc: everyone@example.com"),
         "error: REPORT_RECIPIENTS entry 'owner@example.com\\r\\nBcc: everyone@example.com' holds a line "
         f"break (CR or LF): {ADVICE}"),
        (("REPORT_RECIPIENTS", ",".join(f"reader{n}@example.com" for n in range(60))),
         "error: REPORT_RECIPIENTS lists 60 addresses: SES sends one message to at most 50"),
        (("REPORT_RECIPIENTS", "owner@example"),
         "error: REPORT_RECIPIENTS entry 'owner@example' is not an e-mail address (name@example.com): "
         f"{ADVICE}"),
        (("REPORT_SENDER", "reports at example.com"),
         "error: REPORT_SENDER='reports at example.com' is not an e-mail address"),
        (("REPORT_MODEL_PRICES", "@cf/meta/llama-3.1-8b-instruct=nan:0.65"),
         "error: REPORT_MODEL_PRICES entry '@cf/meta/llama-3.1-8b-instruct=nan:0.65' has a price that is "
         "not a finite number"),
        (("REPORT_MODEL_PRICES", "[bold]m=1:inf"),
         "error: REPORT_MODEL_PRICES entry '[bold]m=1:inf' has a price that is not a finite number"),
    ],
)  # fmt: skip
def test_a_bad_reporter_setting_is_one_line_naming_it_and_nothing_is_sent(
    configured: ReporterSettings,
    moto_server: MotoServer,
    monkeypatch: pytest.MonkeyPatch,
    setting: tuple[str, str],
    line: str,
) -> None:
    monkeypatch.setenv("COLUMNS", "60")  # narrower than the line: it must not be wrapped
    monkeypatch.setenv(*setting)
    for command in (["report", "send", "--week", str(WEEK)], ["report", "preview", "--week", str(WEEK)]):
        result = RUNNER.invoke(app, command)
        assert result.exit_code == 1
        assert "Traceback" not in result.output
        (printed,) = result.output.splitlines()
        assert printed.startswith(line), printed
    assert sent_messages(moto_server.endpoint_url) == []
