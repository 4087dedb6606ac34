"""Fixtures shared by the processor's functional tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from contract.config import load_settings
from contract.tables import bind_tables
from processor.runtime import Runtime, build_runtime
from processor.settings import ProcessorSettings
from tests.support.moto_resources import create_tables


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    """The processor's runtime on tables in an in-process moto; orphans are due as soon as the sweep runs."""
    monkeypatch.setenv("ORPHAN_AFTER_SECONDS", "0")
    with mock_aws():
        built = build_runtime(load_settings(ProcessorSettings))
        create_tables()
        yield built


@pytest.fixture
def tables() -> Iterator[ProcessorSettings]:
    """The processor's tables in an in-process moto, bound to the contract's models."""
    with mock_aws():
        configured = load_settings(ProcessorSettings)
        bind_tables(configured)
        create_tables()
        yield configured
