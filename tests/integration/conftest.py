"""Fixtures shared by the tests that run the processor against moto server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from contract.config import load_settings
from cv_analytics.local.moto_server import MotoServer
from processor.runtime import Runtime, build_runtime
from processor.settings import ProcessorSettings
from tests.support.moto_resources import create_tables


@pytest.fixture
def processor(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    """The processor's runtime on moto server's tables, made empty; orphans are due as soon as the sweep
    runs."""
    monkeypatch.setenv("ORPHAN_AFTER_SECONDS", "0")
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    runtime = build_runtime(load_settings(ProcessorSettings))
    create_tables()
    yield runtime


@pytest.fixture
def sqs(moto_server: MotoServer) -> Any:
    return boto3.client("sqs", endpoint_url=moto_server.endpoint_url, region_name="eu-west-2")
