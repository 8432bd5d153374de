"""Direct (the Dispatcher in-process) and http (the dispatcher function): the same CloudEvents."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from gateways.adapter.invoker import DispatcherInvoker
from gateways.delivery import Deliverer, Watcher
from gateways.dispatch import Dispatcher
from gateways.source import Origin, RawEvent
from tests.adapter.kit import DispatcherService, nats_registry
from tests.conftest import MakeWatcher

ORIGIN = Origin("streams", "orders", "nats")
RAWS = [
    RawEvent(
        payload=b'{"order": 7}',
        id="ORDERS:7",
        subject="orders.created",
        time=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        action="message",
        extensions={"natsstream": "ORDERS", "natsheaders": '{"x-a":"b c"}'},
        headers={"x-a": "b c"},
        binding="nats",
    ),
    RawEvent(
        payload=b"\x00\x01binary",
        id="bin-1",
        content_type="application/octet-stream",
        time=datetime(2026, 1, 2, 3, 4, 6, tzinfo=UTC),
    ),
    RawEvent(
        payload=b'{"paid": true}',
        content_type="application/json",
        headers={
            "ce-specversion": "1.0",
            "ce-id": "upstream-1",
            "ce-source": "/billing",
            "ce-type": "com.example.paid",
        },
        binding="nats",
    ),
]


async def test_both_modes_make_the_same_cloudevents(
    tmp_path: Path, make_watcher: MakeWatcher
) -> None:
    direct_watcher, http_watcher = await make_watcher(), await make_watcher()

    dispatcher = Dispatcher()
    dispatcher.set_deliverer(ORIGIN.gateway, Deliverer([Watcher(direct_watcher.url)]))
    emit = dispatcher.emitter(ORIGIN)
    for raw in RAWS:
        await emit(raw)
    await dispatcher.close()

    registry = nats_registry(tmp_path / "registry.yaml", {}, http_watcher.url, ORIGIN.gateway)
    service = await DispatcherService(registry).start()
    invoker = DispatcherInvoker(service.url, linger=0.0)
    try:
        emit = invoker.emitter(ORIGIN)
        for raw in RAWS:
            await emit(raw)
    finally:
        await invoker.close()
        await service.stop()

    direct = [r.event for r in direct_watcher.requests]
    over_http = [r.event for r in http_watcher.requests]
    assert len(direct) == len(over_http) == len(RAWS)
    for one, other in zip(direct, over_http, strict=True):
        assert one is not None and other is not None
        assert one.attributes == other.attributes
        assert one.data == other.data
    assert [e.id for e in direct if e] == ["ORDERS:7", "bin-1", "upstream-1"]
