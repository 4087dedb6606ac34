"""One local AWS twin for every twin test, applied from nothing once per session.

The apply takes minutes of the AWS provider's own waiting (it polls SQS and S3 until they return what was
set), not CPU, so it starts in the background as soon as collection finds a twin test, while the other
suites run; the first twin test waits for it. Tests that change what runs on the twin put it back.
"""

from __future__ import annotations

import inspect
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cv_analytics.local.deploy import LocalDeployment, deploy_local
from cv_analytics.local.twin import Twin, running_twin
from terraform.environment import Environment
from terraform.outputs import InfraOutputs


@dataclass
class AppliedTwin:
    twin: Twin
    deployment: LocalDeployment
    outputs: InfraOutputs
    root: Path
    apply_seconds: float
    steps: list[tuple[str, float]] = field(default_factory=list)


@dataclass
class _Background:
    stack: ExitStack = field(default_factory=ExitStack)
    done: threading.Event = field(default_factory=threading.Event)
    result: AppliedTwin | None = None
    error: BaseException | None = None
    thread: threading.Thread | None = None


_BACKGROUND = _Background()


def _apply(root: Path) -> None:
    try:
        env = Environment.load("local")
        twin = _BACKGROUND.stack.enter_context(
            running_twin(root / "twin", region=env.region, ses_identity=env.reporter.ses_identity)
        )
        deployment = LocalDeployment.under(root)
        steps: list[tuple[str, float]] = []
        started = time.monotonic()
        outputs = deploy_local(
            twin, deployment, on_step=lambda s: steps.append((s, time.monotonic() - started))
        )
        _BACKGROUND.result = AppliedTwin(twin, deployment, outputs, root, time.monotonic() - started, steps)
    except BaseException as error:
        _BACKGROUND.error = error
    finally:
        _BACKGROUND.done.set()


# The first twin test waits for the apply, and the demo's own apply finds the stacks up to date: minutes.
TWIN_TEST_TIMEOUT_SECONDS = 900


def _beside_the_apply(item: pytest.Item) -> bool:
    """A twin test that needs nothing of the shared twin and changes nothing the apply relies on: not even
    the working directory, which a test's own `monkeypatch` may move under the apply's thread."""
    if not isinstance(item, pytest.Function):
        return False
    own = inspect.signature(item.obj).parameters
    return "applied" not in item.fixturenames and "monkeypatch" not in own


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Twin tests that need no applied twin run first, while the apply waits on the provider's polling;
    the rest keep their order (the destroy last)."""
    twin = [item for item in items if "tests/twin/" in item.nodeid]
    for item in twin:
        item.add_marker(pytest.mark.timeout(TWIN_TEST_TIMEOUT_SECONDS))
    first = [item for item in twin if _beside_the_apply(item)]
    if first:
        rest = [item for item in items if item not in first]
        items[:] = first + rest


def pytest_collection_finish(session: pytest.Session) -> None:
    if session.config.option.collectonly:
        return
    if any("tests/twin/" in item.nodeid for item in session.items) and _BACKGROUND.thread is None:
        root = Path(session.config._tmp_path_factory.mktemp("twin"))  # type: ignore[attr-defined]
        _BACKGROUND.thread = threading.Thread(target=_apply, args=(root,), name="twin-apply", daemon=True)
        _BACKGROUND.thread.start()


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _BACKGROUND.thread is not None:
        _BACKGROUND.done.wait(600)
    _BACKGROUND.stack.close()


@pytest.fixture(scope="session")
def applied() -> AppliedTwin:
    """The twin with all four local stacks applied from nothing."""
    assert _BACKGROUND.thread is not None, "the twin's apply was not started"
    assert _BACKGROUND.done.wait(600), "the twin's apply did not finish within 10 minutes"
    if _BACKGROUND.error is not None:
        raise _BACKGROUND.error
    assert _BACKGROUND.result is not None
    return _BACKGROUND.result


@pytest.fixture
def twin_env(applied: AppliedTwin, monkeypatch: pytest.MonkeyPatch) -> AppliedTwin:
    """The twin's folder for commands that find it the way `./taskw ... ENV=local` does."""
    monkeypatch.setenv("TWIN_FOLDER", str(applied.twin.folder))
    monkeypatch.setenv("TWIN_PORT", applied.twin.endpoint_url.rsplit(":", 1)[1])
    return applied


def local() -> Environment:
    return Environment.load("local")


def plan_exit_code(applied: AppliedTwin, kind: str, *extra: str) -> tuple[int, str]:
    from terraform.run import terraform

    result = terraform(
        local(),
        kind,
        ["plan", "-input=false", "-no-color", "-detailed-exitcode", *extra],
        outdir=applied.deployment.outdir,
        twin=applied.twin,
        capture=True,
        check=False,
    )
    return result.returncode, result.stdout + result.stderr


def plans_of(applied: AppliedTwin, kinds: tuple[str, ...]) -> dict[str, tuple[int, str]]:
    """`plan -detailed-exitcode` of several stacks at once (each has its own state and lock): the exit code
    and output of each. Most of a plan is the provider refreshing resources, so they overlap well."""
    with ThreadPoolExecutor(max_workers=len(kinds)) as pool:
        results = pool.map(lambda kind: plan_exit_code(applied, kind), kinds)
        return dict(zip(kinds, results, strict=True))


def show_json(applied: AppliedTwin, kind: str, *arguments: str) -> Any:
    import json

    from terraform.run import terraform

    result = terraform(
        local(),
        kind,
        ["show", "-json", *arguments],
        outdir=applied.deployment.outdir,
        twin=applied.twin,
        capture=True,
    )
    return json.loads(result.stdout)
