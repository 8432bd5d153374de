"""The ``grid`` fixture: the embedded default running the registry of :mod:`.support`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.kinds.storage_grid.support import Grid, registry
from tests.kit import free_port, start_gateway, status_of
from tests.watcher import RecordingWatcher


@pytest.fixture
async def grid(tmp_path: Path, watcher: RecordingWatcher) -> AsyncIterator[Grid]:
    port = free_port()
    runtime = await start_gateway(registry(tmp_path, port, watcher), tmp_path)
    for name in ("uploads", "everything", "plain"):
        assert status_of(runtime, name).state == "running", status_of(runtime, name)
    yield Grid(runtime, port)
    await runtime.stop()
