"""HDFS sources against the real MiniDFSCluster, through the whole adapter path:

WebHDFS -> adapter -> gRPC -> gateway client -> HTTP -> dispatcher function -> watcher.
1,000 created files arrive as 1,000 CloudEvents; a watcher refusing for a while loses nothing;
the registry changes at run time.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from gateways.adapter import AdapterRuntime, AdapterSettings
from gateways.settings import Settings
from tests.adapter.kit import (
    FAST_BACKOFF,
    FAST_DELIVERY,
    DispatcherService,
    status,
    wait_for_state,
)
from tests.kit import configmap, free_port, unique, wait_until, write_registry
from tests.servicekit import HdfsService
from tests.watcher import RecordingWatcher

pytestmark = [pytest.mark.hdfs, pytest.mark.timeout(180)]
COUNT = 1000


def source(svc: HdfsService, directory: str, **fields: Any) -> dict[str, Any]:
    """A seed-era source: the NameNode's RPC address, mapped to WebHDFS by webHDFSPort."""
    return {
        "directory": directory,
        "type": "CREATE",
        "pathRegexp": ".",
        "checkInterval": "200ms",
        "addresses": [svc.namenode],
        "webHDFSPort": int(svc.webhdfs.rsplit(":", 1)[1]),
        "hdfsUser": svc.user,
        "backoff": FAST_BACKOFF,
        **fields,
    }


def registry(path: Path, sources: dict[str, Any], watcher: str, gateway: str = "hdfs") -> Path:
    document = configmap(gateway, "hdfs", sources, watchers=[watcher], delivery=FAST_DELIVERY)
    return write_registry(path, document)


async def start(registry_file: Path, state: Path, dispatcher_url: str) -> AdapterRuntime:
    base = Settings(registry_file=registry_file, state_dir=state, admin_port=free_port())
    settings = replace(
        AdapterSettings("hdfs", base), dispatch="http", dispatcher_url=dispatcher_url
    )
    runtime = AdapterRuntime(settings)
    await runtime.start()
    return runtime


def write_files(webhdfs: Any, paths: Iterable[str]) -> None:
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda p: webhdfs.write(p, data=p.encode()), paths))


def created_ids(webhdfs: Any, directory: str) -> set[str]:
    return {f"{directory}/{name}:CREATE" for name in webhdfs.list(directory)}


def ids(watcher: RecordingWatcher) -> list[str]:
    """Delivered ids without their modification time (a file listed while still being
    written is created with its first one)."""
    return [
        r.event.id.rsplit(":", 1)[0]
        for r in watcher.requests
        if r.event is not None and r.status == 200
    ]


async def test_a_thousand_files_become_a_thousand_cloudevents(
    tmp_path: Path,
    hdfs_service: HdfsService,
    webhdfs: Any,
    directory: str,
    watcher: RecordingWatcher,
) -> None:
    webhdfs.write(f"{directory}/already-there", data=b"old")  # the baseline: no event
    path = registry(
        tmp_path / "registry.yaml", {"files": source(hdfs_service, directory)}, watcher.url
    )
    dispatcher = await DispatcherService(path).start()
    adapter = await start(path, tmp_path / "state", dispatcher.url)
    try:
        await wait_for_state(adapter, "files", "running")
        write_files(webhdfs, [f"{directory}/f{n:04d}.json" for n in range(COUNT)])
        await watcher.wait_for(COUNT, timeout=90)
    finally:
        await adapter.stop()
        await dispatcher.stop()
    expected = created_ids(webhdfs, directory) - {
        i for i in created_ids(webhdfs, directory) if "/already-there:" in i
    }
    assert len(watcher.requests) == COUNT  # nothing failed, so nothing was sent twice
    assert set(ids(watcher)) == expected and len(expected) == COUNT
    event = next(r.event for r in watcher.requests if r.event and "f0007" in r.event.id)
    assert event is not None
    assert event.type == "dev.gateways.hdfs.create"
    assert event.source == "/gateways/hdfs/files"
    assert event.attributes["subject"] == f"{directory}/f0007.json"
    assert event.attributes["hdfsoperation"] == "CREATE"
    assert event.attributes["hdfslength"] == str(len(f"{directory}/f0007.json"))
    assert event.json()["name"] == f"{directory}/f0007.json"
    assert event.json()["op"] == "CREATE"


async def test_nothing_is_lost_while_the_watcher_refuses(
    tmp_path: Path,
    hdfs_service: HdfsService,
    webhdfs: Any,
    directory: str,
    watcher: RecordingWatcher,
) -> None:
    watcher.answer(*[503] * 120)  # then 200
    path = registry(
        tmp_path / "registry.yaml", {"files": source(hdfs_service, directory)}, watcher.url
    )
    dispatcher = await DispatcherService(path).start()
    adapter = await start(path, tmp_path / "state", dispatcher.url)
    try:
        await wait_for_state(adapter, "files", "running")
        write_files(webhdfs, [f"{directory}/f{n:03d}" for n in range(200)])
        expected = created_ids(webhdfs, directory)
        await wait_until(lambda: set(ids(watcher)) >= expected, timeout=60)
    finally:
        await adapter.stop()
        await dispatcher.stop()
    assert set(ids(watcher)) == expected and len(expected) == 200
    assert sum(r.status == 503 for r in watcher.requests) == 120


async def test_sources_follow_the_registry(
    tmp_path: Path,
    hdfs_service: HdfsService,
    webhdfs: Any,
    watcher: RecordingWatcher,
) -> None:
    first, second = f"/{unique('gw-first-')}", f"/{unique('gw-second-')}"
    for folder in (first, second):
        webhdfs.makedirs(folder)
    path = tmp_path / "registry.yaml"
    registry(path, {"first": source(hdfs_service, first)}, watcher.url)
    dispatcher = await DispatcherService(path).start()
    adapter = await start(path, tmp_path / "state", dispatcher.url)
    try:
        await wait_for_state(adapter, "first", "running")
        webhdfs.write(f"{first}/one", data=b"1")
        await wait_until(lambda: any(f"{first}/one:" in i for i in ids(watcher)), timeout=10)

        broken = source(hdfs_service, second, krbRealm="EXAMPLE.COM")
        sources = {"first": source(hdfs_service, first), "second": source(hdfs_service, second)}
        registry(path, {**sources, "broken": broken}, watcher.url)
        rejected = await wait_for_state(adapter, "broken", "rejected")
        assert rejected.reason.startswith("hdfs/broken: krbRealm: Kerberos is not supported")
        await wait_for_state(adapter, "second", "running")
        webhdfs.write(f"{second}/two", data=b"2")
        webhdfs.write(f"{first}/three", data=b"3")
        await wait_until(lambda: any(f"{second}/two:" in i for i in ids(watcher)), timeout=10)
        await wait_until(lambda: any(f"{first}/three:" in i for i in ids(watcher)), timeout=10)

        registry(path, {"second": source(hdfs_service, second)}, watcher.url)
        await wait_until(lambda: status(adapter, "first") is None, timeout=10)
        webhdfs.write(f"{first}/four", data=b"4")
        webhdfs.write(f"{second}/five", data=b"5")
        await wait_until(lambda: any(f"{second}/five:" in i for i in ids(watcher)), timeout=10)
    finally:
        await adapter.stop()
        await dispatcher.stop()
        for folder in (first, second):
            webhdfs.delete(folder, recursive=True)
    assert not any(f"{first}/four:" in i for i in ids(watcher))  # removed: no longer listed


async def test_a_missing_directory_is_degraded_until_it_exists(
    tmp_path: Path, hdfs_service: HdfsService, webhdfs: Any, watcher: RecordingWatcher
) -> None:
    folder = f"/{unique('gw-later-')}"
    path = registry(
        tmp_path / "registry.yaml", {"later": source(hdfs_service, folder)}, watcher.url
    )
    dispatcher = await DispatcherService(path).start()
    adapter = await start(path, tmp_path / "state", dispatcher.url)
    try:
        degraded = await wait_for_state(adapter, "later", "degraded")
        assert f"directory {folder}: File {folder} does not exist." in degraded.reason
        webhdfs.makedirs(folder)
        await wait_for_state(adapter, "later", "running")
        webhdfs.write(f"{folder}/first", data=b"1")
        await wait_until(lambda: f"{folder}/first:CREATE" in ids(watcher), timeout=10)
    finally:
        await adapter.stop()
        await dispatcher.stop()
        webhdfs.delete(folder, recursive=True)
