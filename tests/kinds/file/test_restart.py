"""The adapter killed with SIGKILL mid-stream and started again: what is and is not recovered.

The filesystem keeps no cursor, so only the directory's state at the new start can be read
again. With ``emitExisting: true`` every file present then is sent as a CREATE: files created
while the adapter was down, and files whose CREATE was still in memory when it died, arrive; a
file unchanged since a CREATE that did arrive gets the same id again (a consumer can drop it).
Writes and removals made while the adapter was down are not recovered.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import pytest

from tests.adapter.kit import FAST_BACKOFF
from tests.kinds.file.kit import accepted, create_id, file_registry
from tests.kit import free_port, wait_until
from tests.watcher import RecordingWatcher

pytestmark = pytest.mark.timeout(120)


async def start(registry: Path) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "GATEWAYS_REGISTRY_FILE": str(registry),
        "GATEWAYS_ADMIN_PORT": str(free_port()),
        "GATEWAYS_DISPATCH": "direct",
        "GATEWAYS_MAX_IN_FLIGHT": "4",  # a slow stream, so the kill lands in its middle
    }
    env.pop("K_SINK", None)
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "adapters.file", env=env, stderr=asyncio.subprocess.DEVNULL
    )


async def test_a_sigkill_loses_only_what_the_directory_no_longer_shows(
    tmp_path: Path, watcher: RecordingWatcher
) -> None:
    directory = tmp_path / "inbox"
    directory.mkdir()
    for number in range(50):
        (directory / f"early-{number}").touch()
    source = {
        "directory": str(directory),
        "type": ["CREATE", "WRITE", "REMOVE"],
        "pathRegexp": ".",
        "emitExisting": True,
        "backoff": FAST_BACKOFF,
    }
    registry = file_registry(tmp_path / "registry.yaml", {"inbox": source}, watcher.url)
    process = await start(registry)
    try:
        await wait_until(lambda: len(accepted(watcher)) >= 50, timeout=30)
        assert all(e.attributes["fileexisting"] == "true" for e in accepted(watcher))
        watcher.delay = 0.02  # slow enough that the kill lands mid-stream
        for number in range(300):
            (directory / f"live-{number}").touch()
        await wait_until(lambda: len(accepted(watcher)) >= 80, timeout=30)
        process.kill()  # SIGKILL: nothing is flushed
        await process.wait()
        killed_at = time.monotonic()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    # While it is down: new files, a write and a removal.
    for number in range(100):
        (directory / f"down-{number}").touch()
    with (directory / "early-0").open("a") as handle:
        handle.write("changed while down")
    (directory / "early-1").unlink()

    watcher.delay = 0.0
    process = await start(registry)
    try:
        present = {path.name: create_id(path) for path in directory.iterdir()}
        assert len(present) == 50 - 1 + 300 + 100
        await wait_until(
            lambda: set(present.values()) <= {e.id for e in accepted(watcher)}, timeout=60
        )
    finally:
        process.kill()
        await process.wait()

    # What the new process sent (requests the killed one had open may be answered later).
    after = [
        r.event
        for r in watcher.requests
        if r.received_at > killed_at and r.status == 200 and r.event is not None
    ]
    # What the killed process delivered (answered late or not).
    old = [
        r.event
        for r in watcher.requests
        if r.received_at <= killed_at and r.status == 200 and r.event is not None
    ]
    before = {e.id for e in old}
    live_before = {e.attributes["subject"] for e in old} - {f"early-{n}" for n in range(50)}
    assert 0 < len(live_before) < 300  # killed mid-stream
    # Recovered: every file present at the restart, each as an existing CREATE (no gaps).
    assert {e.attributes["subject"] for e in after} == set(present)
    assert {e.attributes["fileop"] for e in after} == {"CREATE"}
    assert all(e.attributes["fileexisting"] == "true" for e in after)
    # Those whose CREATE was lost in the kill came only now.
    lost_in_kill = {f"live-{n}" for n in range(300)} - live_before
    assert lost_in_kill and all(present[name] not in before for name in lost_in_kill)
    # Unchanged files come again with the same id: the consumer can tell a duplicate.
    unchanged = [name for name in present if name in live_before]
    assert unchanged and all(present[name] in before for name in unchanged)
    # The file written while down is a CREATE with a new id, not a WRITE.
    assert present["early-0"] not in before
    # Not recovered: the write and the removal made while the adapter was down.
    everything = accepted(watcher)
    assert not [e for e in everything if e.attributes["fileop"] in ("WRITE", "REMOVE")]
    assert "early-1" not in {e.attributes["subject"] for e in after}
