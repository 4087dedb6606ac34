"""Settings come from the environment; a bad value names the variable and what it should be."""

from __future__ import annotations

import pytest

from contract.config import AwsSettings, SettingsError, as_environment, environment_variables, load_settings
from processor.settings import ProcessorSettings
from reporter.settings import ReporterSettings


def test_defaults_apply_when_nothing_is_set() -> None:
    settings = load_settings(ProcessorSettings, {})
    assert settings.query_events_table == "cv-analytics-query-events"
    assert settings.orphan_after_seconds == 900
    assert settings.aws_endpoint_url is None


def test_values_are_parsed_by_their_declared_type() -> None:
    settings = load_settings(
        ReporterSettings,
        {"REPORT_RECIPIENTS": "a@example.com, b@example.com,", "ANALYTICS_WRITE_SHARDS": "4"},
    )
    assert settings.report_recipients == ("a@example.com", "b@example.com")
    assert settings.analytics_write_shards == 4


def test_an_empty_variable_keeps_the_default() -> None:
    assert load_settings(AwsSettings, {"ANALYTICS_TABLE": ""}).analytics_table == "cv-analytics-analytics"


def test_a_malformed_number_names_the_variable_and_the_expected_form() -> None:
    with pytest.raises(SettingsError, match=r"ORPHAN_AFTER_SECONDS='soon' is not a whole number"):
        load_settings(ProcessorSettings, {"ORPHAN_AFTER_SECONDS": "soon"})


def test_cross_field_rules_are_checked() -> None:
    with pytest.raises(SettingsError, match="INTERIM_TTL_SECONDS=600 must exceed ORPHAN_AFTER_SECONDS=900"):
        load_settings(ProcessorSettings, {"INTERIM_TTL_SECONDS": "600"})
    with pytest.raises(SettingsError, match="ANALYTICS_WRITE_SHARDS=0 is out of range"):
        load_settings(AwsSettings, {"ANALYTICS_WRITE_SHARDS": "0"})


def test_runtime_provided_variables_are_not_listed_for_the_infrastructure() -> None:
    names = environment_variables(ProcessorSettings)
    assert "AWS_REGION" not in names
    assert "AWS_ENDPOINT_URL" not in names
    assert {"QUERY_EVENTS_TABLE", "ANALYTICS_TABLE", "ORPHAN_AFTER_SECONDS"} <= set(names)
    assert "AWS_REGION" in environment_variables(ProcessorSettings, include_runtime=True)


def test_settings_round_trip_through_the_environment() -> None:
    original = load_settings(ReporterSettings, {"REPORT_RECIPIENTS": "a@example.com,b@example.com"})
    environment = as_environment(original, include_runtime=True)
    assert load_settings(ReporterSettings, environment) == original
