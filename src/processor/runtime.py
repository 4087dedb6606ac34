"""The processor's runtime, built explicitly: settings, the store the correlator writes to, and its clock.

The Lambda builds one from its environment at the first invocation and reuses it (`default_runtime`). A
test, a benchmark or the local runtime builds its own with `build_runtime` and passes it to the entry points
(`processor.handler`): a replayed week's clock, an in-memory store, settings other than the environment's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from contract.config import load_settings
from contract.tables import bind_tables
from processor.repository import Repository
from processor.service import Correlator, Store
from processor.settings import ProcessorSettings


def wall_clock_ms() -> int:
    """Epoch milliseconds now."""
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class Runtime:
    """What a cold start sets up once and every invocation reuses."""

    settings: ProcessorSettings
    correlator: Correlator


def build_runtime(
    settings: ProcessorSettings,
    *,
    store: Store | None = None,
    clock: Callable[[], int] = wall_clock_ms,
) -> Runtime:
    """A runtime on `settings`: the tables bound to them and the repository over them, unless `store` is
    given; `clock` (epoch ms) is what the correlator stamps records and first-seen times with."""
    if store is None:
        bind_tables(settings)
        store = Repository(interim_ttl_seconds=settings.interim_ttl_seconds)
    return Runtime(settings, Correlator(store, shards=settings.analytics_write_shards, clock=clock))


@cache
def default_runtime() -> Runtime:
    """The Lambda's runtime, from its environment variables: built once per execution environment."""
    return build_runtime(load_settings(ProcessorSettings))
