"""The adapter (``python -m adapters.hdfs``) killed with SIGKILL mid-stream and restarted.

Recoverable: what the kept listing (under GATEWAYS_STATE_DIR) and the listing after the
restart differ by: files created, and removed, while the adapter was down or before their
delivery finished; a change delivered before the kill may come again, with its id.
Not recoverable: states between two listings (a file created and removed while down).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.adapter.kit import DispatcherService
from tests.kinds.hdfs.test_running import created_ids, ids, registry, source, write_files
from tests.kit import free_port, wait_until
from tests.servicekit import HdfsService
from tests.watcher import RecordingWatcher

pytestmark = [pytest.mark.hdfs, pytest.mark.timeout(180)]


async def adapter(registry_file: Path, state: Path, dispatcher: str) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "GATEWAYS_REGISTRY_FILE": str(registry_file),
        "GATEWAYS_STATE_DIR": str(state),
        "GATEWAYS_ADMIN_PORT": str(free_port()),
        "GATEWAYS_DISPATCH": "http",
        "GATEWAYS_DISPATCHER_URL": dispatcher,
    }
    env.pop("K_SINK", None)
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "adapters.hdfs",
        env=env,
        stderr=(registry_file.parent / "adapter.log").open("a"),
    )


async def test_killed_and_restarted_it_emits_what_changed_meanwhile(
    tmp_path: Path,
    hdfs_service: HdfsService,
    webhdfs: Any,
    directory: str,
    make_watcher: Any,
) -> None:
    watcher: RecordingWatcher = await make_watcher(delay=0.01)  # slow enough to kill mid-stream
    webhdfs.write(f"{directory}/doomed-000", data=b"x")
    sources = {
        "created": source(hdfs_service, directory),
        "removed": source(hdfs_service, directory, type="REMOVE"),
    }
    path = registry(tmp_path / "registry.yaml", sources, watcher.url)
    state = tmp_path / "state"
    listings = state / "hdfs-listings"
    dispatcher = await DispatcherService(path).start()
    process = await adapter(path, state, dispatcher.url)
    try:
        await wait_until(lambda: len(list(listings.glob("*.json"))) == 2, timeout=30)
        write_files(webhdfs, [f"{directory}/a{n:03d}" for n in range(300)])
        await wait_until(lambda: len(watcher.requests) >= 30, timeout=30)
        process.send_signal(signal.SIGKILL)
        await process.wait()
        assert len(set(ids(watcher))) < 300  # killed mid-stream

        # While it is down: more files, a removal, and a file that comes and goes.
        write_files(webhdfs, [f"{directory}/b{n:03d}" for n in range(100)])
        webhdfs.delete(f"{directory}/doomed-000")
        webhdfs.write(f"{directory}/ghost", data=b"boo")
        webhdfs.delete(f"{directory}/ghost")

        process = await adapter(path, state, dispatcher.url)
        expected = created_ids(webhdfs, directory) | {f"{directory}/doomed-000:REMOVE"}
        try:
            await wait_until(lambda: set(ids(watcher)) >= expected, timeout=60)
        except TimeoutError:
            raise AssertionError(sorted(expected - set(ids(watcher)))[:5]) from None
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 20)
        await dispatcher.stop()
    seen = set(ids(watcher))
    assert seen == expected and len(expected) == 401
    assert not any("/ghost:" in i for i in seen)  # created and removed while down: not seen
