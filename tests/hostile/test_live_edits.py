"""Hostile live edits of the registry file under a running embedded gateway: a bad entry never
holds back the good ones added in the same edit, and an alias bomb never stalls serving."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp

from tests.hostile.test_registry_cases import BOMB
from tests.kit import configmap, free_port, start_gateway, status_of, wait_until, write_registry
from tests.watcher import RecordingWatcher


def hooks(port: int, watcher: RecordingWatcher, **extra: str | dict[str, object]) -> dict:
    sources: dict[str, str | dict[str, object]] = {"first": {"endpoint": "/first", "port": port}}
    sources.update(extra)
    return configmap("hooks", "webhook", sources, watchers=[watcher.url])


async def test_a_bad_entry_does_not_hold_back_a_good_one_added_with_it(
    tmp_path: Path, watcher: RecordingWatcher
) -> None:
    port = free_port()
    registry = write_registry(tmp_path / "registry.yaml", hooks(port, watcher))
    runtime = await start_gateway(registry, tmp_path)
    try:
        write_registry(
            registry,
            hooks(
                port,
                watcher,
                bad={"endpoint": "/bad", "port": port, "interval": "1e400", "method": "FETCH"},
                deep="[" * 200 + "]" * 200,
                second={"endpoint": "/second", "port": port},
            ),
        )
        await wait_until(lambda: len(runtime.reconciler.status()) == 4, 10)
        assert status_of(runtime, "first").state == "running"
        assert status_of(runtime, "second").state == "running"
        bad = status_of(runtime, "bad")
        assert bad.state == "rejected"
        assert "webhook/bad: method: 'FETCH' is not an HTTP method" in bad.reason
        assert "webhook/bad: interval: unknown field" in bad.reason
        assert "nested too deep" in status_of(runtime, "deep").reason
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"http://127.0.0.1:{port}/second", json={"n": 1}) as answer,
        ):
            assert answer.status == 200
    finally:
        await runtime.stop()


async def test_an_alias_bomb_in_a_live_edit_does_not_stall_serving(
    tmp_path: Path, watcher: RecordingWatcher
) -> None:
    port = free_port()
    registry = write_registry(tmp_path / "registry.yaml", hooks(port, watcher))
    runtime = await start_gateway(registry, tmp_path)
    slowest = 0.0
    try:
        async with aiohttp.ClientSession() as session:

            async def request() -> None:
                nonlocal slowest
                started = time.perf_counter()
                async with session.post(f"http://127.0.0.1:{port}/first", json={}) as answer:
                    assert answer.status == 200
                slowest = max(slowest, time.perf_counter() - started)

            await request()
            # A bomb in a source's config: that source is rejected.
            write_registry(registry, hooks(port, watcher, bomb=BOMB))
            deadline = time.monotonic() + 2  # several reloads of the edited file
            while time.monotonic() < deadline:
                await asyncio.gather(*(request() for _ in range(5)))
            assert "too many nodes" in status_of(runtime, "bomb").reason
            # A bomb in the file itself: the edit is refused, what ran keeps running.
            lines = "".join(f"    {line}\n" for line in BOMB.splitlines())
            with registry.open("a") as file:
                file.write(
                    "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n"
                    f"  labels:\n{lines}    bomb: *i\n"
                )
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline:
                await asyncio.gather(*(request() for _ in range(5)))
        problems = runtime.reconciler.registry_problems
        assert any("too many nodes" in p for p in problems), problems
        assert status_of(runtime, "first").state == "running"
        assert slowest < 1.0, f"a request took {slowest:.2f}s during the reload"
    finally:
        await runtime.stop()
