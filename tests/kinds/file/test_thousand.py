"""1,000 files created in a watched directory arrive as 1,000 CloudEvents.

local filesystem (inotify) -> file adapter -> HTTP -> dispatcher function -> watcher, every
piece real and on 127.0.0.1.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from tests.adapter.kit import FAST_BACKOFF, DispatcherService, start_adapter, wait_for_state
from tests.kinds.file.kit import create_id, file_registry
from tests.kit import unique
from tests.watcher import RecordingWatcher

pytestmark = pytest.mark.timeout(120)
COUNT = 1000


@pytest.mark.parametrize("polling", [False, True], ids=["inotify", "polling"])
async def test_a_thousand_files_become_a_thousand_cloudevents(
    tmp_path: Path, watcher: RecordingWatcher, polling: bool
) -> None:
    directory = tmp_path / "inbox"
    directory.mkdir()
    source: dict[str, object] = {
        "directory": str(directory),
        "type": "CREATE",
        "pathRegexp": r"^f-\d+\.txt$",
        "backoff": FAST_BACKOFF,
    }
    if polling:
        source.update(polling=True, pollInterval="100ms")
    gateway = unique("thousand-")  # metrics are per process: keep this test's labels its own
    registry = file_registry(tmp_path / "registry.yaml", {"inbox": source}, watcher.url, gateway)
    dispatcher = await DispatcherService(registry).start()
    adapter = await start_adapter(registry, dispatcher.url, kind="file")
    try:
        await wait_for_state(adapter, "inbox", "running")
        for number in range(COUNT):
            (directory / f"f-{number}.txt").touch()
            (directory / f"ignored-{number}.tmp").touch()  # not matching: not reported
        requests = await watcher.wait_for(COUNT, timeout=60)
        admin = f"http://127.0.0.1:{adapter.settings.base.admin_port}"
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{admin}/metrics") as reply,
        ):
            metrics = await reply.text()
    finally:
        await adapter.stop()
        await dispatcher.stop()

    assert len(watcher.requests) == COUNT  # nothing failed, nothing doubled
    events = [r.event for r in requests if r.event is not None]
    by_id = {e.id: e for e in events}
    expected = {create_id(directory / f"f-{n}.txt") for n in range(COUNT)}
    assert set(by_id) == expected  # deterministic ids: name, inode, mtime

    event = next(e for e in events if e.attributes["subject"] == "f-0.txt")
    assert event.type == "dev.gateways.file.create"
    assert event.source == f"/gateways/{gateway}/inbox"
    assert event.content_type == "application/json"
    assert event.attributes["fileop"] == "CREATE"
    assert event.attributes["filepath"] == str(directory / "f-0.txt")
    assert event.attributes["time"].endswith("Z")
    assert event.json() == {
        "name": str(directory / "f-0.txt"),
        "op": "CREATE",
        "path": "f-0.txt",
        "directory": str(directory),
        "isDir": False,
    }
    labels = f'gateway="{gateway}",kind="file",source="inbox"'
    assert f"gateways_adapter_events_delivered_total{{{labels}}} {COUNT:.1f}" in metrics
    assert f"gateways_adapter_events_in_flight{{{labels}}} 0.0" in metrics
