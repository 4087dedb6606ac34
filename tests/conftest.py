"""Fixtures shared by every test suite."""

from __future__ import annotations

import os

# numpy's OpenBLAS reads this once, when numpy is first imported, so it is set before anything imports numpy.
# Its default, a thread per core, spins each thread waiting for the others: on a machine whose cores are
# busy with other work (the twin suite runs beside this one), the grouping model's matrix products then
# took eight times as long (96 s against 12 s for one 500-question week). One thread computes the same
# products.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from collections.abc import Iterator

import pytest

from cv_analytics import model_files
from cv_analytics.local.moto_server import LOCAL_CREDENTIALS, MotoServer, running_moto_server


@pytest.fixture(autouse=True, scope="session")
def _question_model() -> None:
    """The reporter's question model, built once from the pinned wheel (downloaded on a fresh clone), so
    every test that renders a report runs the production grouping."""
    model_files.build()


@pytest.fixture(autouse=True, scope="session")
def _one_botocore_loader() -> Iterator[None]:
    """PynamoDB opens a botocore session for every new connection, and each session parses botocore's
    DynamoDB model again (about 0.15 s); the tests point the models at their tables again and again, and one
    reporter test spent half its 10 s there. Every session now reads the models through one loader: the
    same data, parsed once. Each session still resolves its own credentials, region and endpoint."""
    import botocore.loaders
    import botocore.session
    from pynamodb.connection import base

    loader = botocore.loaders.create_loader()

    def get_session() -> botocore.session.Session:
        session = botocore.session.get_session()
        session.register_component("data_loader", loader)
        return session

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(base, "get_session", get_session)
        yield


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach a real AWS account: fake credentials, a fixed region, no shared profiles."""
    for name, value in LOCAL_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_REGION", "eu-west-2")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-2")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture(scope="session")
def _moto_server_process() -> Iterator[MotoServer]:
    with running_moto_server() as server:
        yield server


@pytest.fixture
def moto_server(_moto_server_process: MotoServer, monkeypatch: pytest.MonkeyPatch) -> MotoServer:
    """A moto server process, emptied for this test, with boto3 and PynamoDB pointed at it."""
    _moto_server_process.reset()
    for name, value in _moto_server_process.environment().items():
        monkeypatch.setenv(name, value)
    assert os.environ["AWS_ENDPOINT_URL"] == _moto_server_process.endpoint_url
    return _moto_server_process
