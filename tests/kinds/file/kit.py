"""Helpers of the file kind's adapter tests: its registry, and what the watcher accepted."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.adapter.kit import FAST_DELIVERY
from tests.kit import configmap, write_registry
from tests.watcher import RecordingWatcher


def file_registry(
    path: Path,
    sources: Mapping[str, Mapping[str, Any] | str],
    watcher_url: str,
    gateway: str = "files",
    delivery: Mapping[str, Any] = FAST_DELIVERY,
) -> Path:
    return write_registry(
        path, configmap(gateway, "file", sources, watchers=[watcher_url], delivery=delivery)
    )


def accepted(watcher: RecordingWatcher) -> list[Any]:
    """The CloudEvents the watcher answered 200, in arrival order."""
    return [r.event for r in watcher.requests if r.status == 200 and r.event is not None]


def create_id(path: Path) -> str:
    """The id a CREATE of ``path`` has while the file is unchanged."""
    stat = path.stat()
    return f"CREATE:{path.name}:{stat.st_ino}:{stat.st_mtime_ns}"
