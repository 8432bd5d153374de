"""The registry changes while the file adapter runs: sources start and stop, a bad one is
refused with its field while the others keep delivering; a directory that is not there yet is
retried until it appears."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.adapter.kit import (
    FAST_BACKOFF,
    DispatcherService,
    start_adapter,
    status,
    wait_for_state,
)
from tests.kinds.file.kit import accepted, file_registry
from tests.kit import wait_until
from tests.watcher import RecordingWatcher

pytestmark = pytest.mark.timeout(60)


def source(directory: Path) -> dict[str, Any]:
    return {
        "directory": str(directory),
        "type": "CREATE",
        "pathRegexp": ".",
        "backoff": FAST_BACKOFF,
    }


def subjects(watcher: RecordingWatcher) -> list[str]:
    return [e.attributes["subject"] for e in accepted(watcher)]


async def test_sources_follow_the_registry(tmp_path: Path, watcher: RecordingWatcher) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    path = tmp_path / "registry.yaml"
    file_registry(path, {"first": source(first)}, watcher.url)
    dispatcher = await DispatcherService(path).start()
    adapter = await start_adapter(path, dispatcher.url, kind="file")
    try:
        await wait_for_state(adapter, "first", "running")
        (first / "a").touch()
        await wait_until(lambda: "a" in subjects(watcher))

        # Added at run time: a good source and a bad one.
        bad = {**source(second), "directory": "relative/dir"}
        sources = {"first": source(first), "second": source(second), "broken": bad}
        file_registry(path, sources, watcher.url)
        rejected = await wait_for_state(adapter, "broken", "rejected")
        assert rejected.reason == "file/broken: directory: 'relative/dir' is not an absolute path"
        await wait_for_state(adapter, "second", "running")
        (second / "b").touch()
        (first / "c").touch()  # the others keep delivering
        await wait_until(lambda: {"b", "c"} <= set(subjects(watcher)))

        # Removed at run time: its files go nowhere any more.
        file_registry(path, {"second": source(second)}, watcher.url)
        await wait_until(lambda: status(adapter, "first") is None)
        (first / "d").touch()
        (second / "e").touch()
        await wait_until(lambda: "e" in subjects(watcher))
    finally:
        await adapter.stop()
        await dispatcher.stop()
    assert "d" not in subjects(watcher)
    assert sorted(subjects(watcher)) == ["a", "b", "c", "e"]


async def test_a_directory_that_is_not_there_yet(tmp_path: Path, watcher: RecordingWatcher) -> None:
    directory = tmp_path / "later"
    path = file_registry(tmp_path / "registry.yaml", {"later": source(directory)}, watcher.url)
    dispatcher = await DispatcherService(path).start()
    adapter = await start_adapter(path, dispatcher.url, kind="file")
    try:
        degraded = await wait_for_state(adapter, "later", "degraded")
        assert f"{directory} does not exist" in degraded.reason
        directory.mkdir()
        await wait_for_state(adapter, "later", "running")
        (directory / "x").touch()
        await wait_until(lambda: "x" in subjects(watcher))
        # Removed under the watch: degraded again, and back once it is there again.
        (directory / "x").unlink()
        directory.rmdir()
        await wait_for_state(adapter, "later", "degraded")
        directory.mkdir()
        await wait_for_state(adapter, "later", "running")
        (directory / "y").touch()
        await wait_until(lambda: "y" in subjects(watcher))
    finally:
        await adapter.stop()
        await dispatcher.stop()
