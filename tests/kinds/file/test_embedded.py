"""The example registry file is valid, and the embedded default (`gateways up`) runs file
sources in-process."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.file.config import FileConfig
from gateways.config import parse_source
from gateways.registry.file import load_file
from tests.kinds.file.kit import file_registry
from tests.kit import ROOT, start_gateway, status_of, wait_until
from tests.watcher import RecordingWatcher

pytestmark = pytest.mark.timeout(60)
EXAMPLE = ROOT / "examples" / "file.yaml"


def test_the_example_is_valid() -> None:
    gateways, problems = load_file(EXAMPLE)
    assert problems == []
    (gateway,) = gateways
    assert gateway.kind == "file" and "console" in (gateway.watchers or "")
    configs = {
        name: parse_source(entry.kind, entry.name, entry.value)
        for name, entry in gateway.entries.items()
    }
    assert all(isinstance(c, FileConfig) for c in configs.values())
    assert {c.directory for c in configs.values()} == {"/tmp/gateways-inbox"}


async def test_the_embedded_default_runs_file_sources(
    tmp_path: Path, watcher: RecordingWatcher
) -> None:
    directory = tmp_path / "inbox"
    directory.mkdir()
    source = {"directory": str(directory), "type": ["CREATE", "RENAME"], "pathRegexp": "^a"}
    registry = file_registry(tmp_path / "registry.yaml", {"inbox": source}, watcher.url)
    runtime = await start_gateway(registry, tmp_path)
    try:
        await wait_until(lambda: status_of(runtime, "inbox").state == "running")
        (directory / "a-1").write_text("x")
        (directory / "a-1").rename(directory / "a-2")
        await watcher.wait_for(3, timeout=10)
    finally:
        await runtime.stop()
    events = [r.event for r in watcher.requests if r.event is not None]
    assert sorted((e.type, e.attributes["subject"]) for e in events) == [
        ("dev.gateways.file.create", "a-1"),
        ("dev.gateways.file.create", "a-2"),
        ("dev.gateways.file.rename", "a-2"),
    ]
    (rename,) = [e for e in events if e.type == "dev.gateways.file.rename"]
    assert rename.attributes["fileoldpath"] == str(directory / "a-1")
    assert rename.json()["oldPath"] == "a-1"
    # One name's changes in order: the rename after the create of its old name.
    assert events.index(rename) > [e.attributes["subject"] for e in events].index("a-1")
