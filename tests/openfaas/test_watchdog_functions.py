"""Each function's shrinkwrapped build context, laid out as the template's Dockerfile lays it
out, served by the real of-watchdog in http mode with the template's index.py, delivering
CloudEvents end to end; and an adapter invoking the dispatcher through the watchdog."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest
from nats.aio.client import Client

from tests.adapter.kit import nats_registry, publish_until, start_adapter, wait_for_state
from tests.deploy.test_functions_run import CALENDAR, REQUESTS, WEBHOOK, _seed_calendar_state
from tests.kinds.nats.conftest import client
from tests.kit import configmap, unique, write_registry
from tests.openfaas.conftest import StartPod
from tests.openfaas.pod import Pod
from tests.servicekit import NatsService
from tests.watcher import RecordingWatcher

__all__ = ["client"]


async def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=headers) as reply,
    ):
        return reply.status, await reply.read()


async def serving(pod: Pod, timeout: float = 30) -> None:
    """Until the function's own server answers through the watchdog (a GET, which none of the
    functions acts on), rather than the watchdog's 500 for an upstream that does not listen."""
    async with asyncio.timeout(timeout), aiohttp.ClientSession() as session:
        while True:
            assert pod.process is not None and pod.process.returncode is None, pod.logs()
            try:
                async with session.get(pod.url) as reply:
                    if reply.status != 500:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.02)


def settings(tmp_path: Path, watcher: RecordingWatcher, registry: Path) -> dict[str, str]:
    return {
        "GATEWAYS_REGISTRY_FILE": str(registry),
        "GATEWAYS_WATCHERS": watcher.url,
        "GATEWAYS_STATE_DIR": str(tmp_path / "state"),
    }


@pytest.mark.parametrize("name", ["webhook", "calendar"])
async def test_function_delivers_through_the_watchdog(
    name: str, start_pod: StartPod, tmp_path: Path, watcher: RecordingWatcher
) -> None:
    """webhook: a POST to its endpoint; calendar: the cron-connector's POST fires the two
    ticks due since the state's last one."""
    registry = write_registry(tmp_path / "registry.yaml", WEBHOOK, CALENDAR)
    if name == "calendar":
        await _seed_calendar_state(tmp_path / "state")
    pod = await start_pod(name, [watcher.port], **settings(tmp_path, watcher, registry))
    await serving(pod)

    path, headers, body, event_type, count = REQUESTS[name]
    status, answer = await post(pod.url.rstrip("/") + path, body, dict(headers))

    assert status == 200, (answer, pod.logs())
    received = await watcher.wait_for(count, timeout=15)
    assert {r.event.type for r in received if r.event} == {event_type}
    assert len(watcher.requests) == count
    if name == "webhook":
        assert received[0].body == body
        assert received[0].headers["ce-source"] == "/gateways/webhook-gateway/example"
    else:
        assert json.loads(answer)["trigger"]  # the calendar's report names its trigger
        assert {r.headers["ce-source"] for r in received} == {
            "/gateways/calendar-gateway/every-minute"
        }


async def test_dispatcher_delivers_a_raw_event_batch(
    start_pod: StartPod, tmp_path: Path, watcher: RecordingWatcher
) -> None:
    """The README's dispatcher protocol: an ordered batch of raw events for a gateway."""
    registry = write_registry(tmp_path / "registry.yaml", configmap("orders", "kafka", {}))
    pod = await start_pod("dispatcher", [watcher.port], **settings(tmp_path, watcher, registry))
    await serving(pod)
    batch = {
        "gateway": "orders",
        "source": "eu",
        "kind": "kafka",
        "ordered": True,
        "events": [
            {
                "data": json.dumps({"order": n}),
                "id": f"orders/3/{n}",
                "subject": "orders",
                "action": "message",
                "time": "2026-03-08T07:30:00+00:00",
                "contenttype": "application/json",
                "extensions": {"kafkatopic": "orders"},
            }
            for n in (1, 2)
        ],
    }

    status, answer = await post(
        pod.url, json.dumps(batch).encode(), {"content-type": "application/json"}
    )

    assert status == 200, (answer, pod.logs())
    assert json.loads(answer)["results"] == [
        {"id": "orders/3/1", "ok": True},
        {"id": "orders/3/2", "ok": True},
    ]
    received = await watcher.wait_for(2, timeout=15)
    events = [r.event for r in received if r.event]
    assert [e.id for e in events] == ["orders/3/1", "orders/3/2"]  # ordered: one by one
    assert {e.source for e in events} == {"/gateways/orders/eu"}
    assert [e.json()["order"] for e in events] == [1, 2]


@pytest.mark.nats
async def test_an_adapter_invokes_the_dispatcher_through_the_watchdog(
    start_pod: StartPod,
    tmp_path: Path,
    watcher: RecordingWatcher,
    nats_service: NatsService,
    client: Client,
) -> None:
    """The NATS adapter in http mode, GATEWAYS_DISPATCHER_URL at the watchdog (on OpenFaaS it
    is the gateway's /function/dispatcher, which forwards to the watchdog's /)."""
    subject = unique("openfaas.")
    registry = nats_registry(
        tmp_path / "registry.yaml",
        {"orders": {"url": nats_service.url, "subject": subject}},
        watcher.url,
    )
    pod = await start_pod(
        "dispatcher",
        [watcher.port],
        GATEWAYS_REGISTRY_FILE=str(registry),
        GATEWAYS_STATE_DIR=str(tmp_path / "state"),
    )
    await serving(pod)
    adapter = await start_adapter(registry, pod.url)
    try:
        await wait_for_state(adapter, "orders", "running")
        arrived = lambda: bool(watcher.events)  # noqa: E731
        await publish_until(client, subject, b'{"order": 7}', arrived, timeout=30)
    finally:
        await adapter.stop()
    event = watcher.events[0]
    assert event.type == "dev.gateways.nats.message"
    assert event.source == "/gateways/streams/orders"
    assert event.json() == {"order": 7}
    assert "POST / - 200" in pod.logs()  # delivered by the function behind the watchdog
