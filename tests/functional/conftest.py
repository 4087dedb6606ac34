"""Fixtures shared by the processor's functional tests."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import pytest
from moto import mock_aws

from contract.config import load_settings
from processor.settings import ProcessorSettings
from tests.support.moto_resources import create_tables


@pytest.fixture
def handler(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The handler module with its tables in an in-process moto; orphans are due as soon as the sweep runs."""
    monkeypatch.setenv("ORPHAN_AFTER_SECONDS", "0")
    with mock_aws():
        from processor import handler as module

        module.configure(load_settings(ProcessorSettings))
        create_tables()
        yield module
