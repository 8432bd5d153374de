"""Optional OpenTelemetry spans: ``receive``, ``dispatch`` and ``deliver`` per watcher, in the
trace the event carries, recorded here by the SDK's in-memory exporter. Off unless the
standard environment names an exporter; off, the SDK is not even imported."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from nats.aio.client import Client
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gateways import tracing
from tests.adapter.kit import (
    DispatcherService,
    nats_registry,
    publish_until,
    start_adapter,
    wait_for_state,
)
from tests.kit import ROOT, configmap, free_port, start_gateway, unique, write_registry
from tests.servicekit import NatsService
from tests.watcher import RecordingWatcher

PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
TRACE_ID = int(PARENT[3:35], 16)


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.enable(provider)
    try:
        yield exporter
    finally:
        tracing.disable()
        provider.shutdown()


def _named(exporter: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.name == name]


def _header_of(span: ReadableSpan) -> str:
    context = span.get_span_context()
    assert context is not None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


def test_spans_are_on_only_when_the_environment_names_an_exporter(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert not tracing.configure_from_env({})
    assert not tracing.configure_from_env({"OTEL_TRACES_EXPORTER": "none"})
    assert not tracing.configure_from_env(
        {"OTEL_TRACES_EXPORTER": "console", "OTEL_SDK_DISABLED": "true"}
    )
    assert not tracing.active()
    with caplog.at_level(logging.WARNING):
        assert not tracing.configure_from_env({"OTEL_TRACES_EXPORTER": "no-such-exporter"})
    assert "OTEL_TRACES_EXPORTER: no exporter named no-such-exporter" in caplog.text
    try:
        assert tracing.configure_from_env({"OTEL_TRACES_EXPORTER": "console"})
        assert tracing.active()
    finally:
        tracing.disable()
    assert not tracing.active()


def test_with_spans_off_the_sdk_is_never_imported() -> None:
    script = (
        "import asyncio, sys\n"
        "from gateways.events import build\n"
        "from gateways.delivery import Deliverer, Watcher\n"
        "from gateways.source import Origin, RawEvent\n"
        f"PARENT = {PARENT!r}\n"
        "event = build(RawEvent(b'{}', headers={'traceparent': PARENT}), Origin('g', 's', 'k'))\n"
        "async def main():\n"
        "    async with Deliverer([Watcher('console')]) as deliverer:\n"
        "        assert (await deliverer.deliver(event)).ok\n"
        "asyncio.run(main())\n"
        "assert not [m for m in sys.modules if m.startswith('opentelemetry')], 'imported'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert PARENT in done.stdout  # the console watcher printed the event with its trace


async def test_a_webhook_event_makes_receive_dispatch_and_deliver_spans_in_its_trace(
    tmp_path: Path, watcher: RecordingWatcher, spans: InMemorySpanExporter
) -> None:
    port = free_port()
    registry = write_registry(
        tmp_path / "registry.yaml",
        configmap(
            "hooks", "webhook", {"example": {"port": port, "endpoint": "/example"}}, [watcher.url]
        ),
    )
    runtime = await start_gateway(registry, tmp_path)
    url = f"http://127.0.0.1:{port}/example"
    try:
        async with aiohttp.ClientSession() as session:
            async with session.post(url, data=b"{}", headers={"traceparent": PARENT}) as reply:
                assert reply.status == 200
            async with session.post(url, data=b"{}") as reply:
                assert reply.status == 200
        traced, started = await watcher.wait_for(2)
    finally:
        await runtime.stop()

    receive, fresh_receive = _named(spans, "receive")
    dispatch, fresh_dispatch = _named(spans, "dispatch")
    deliver, fresh_deliver = _named(spans, "deliver")
    # Under the sender's span: receive -> dispatch -> deliver, all in its trace.
    assert receive.context.trace_id == TRACE_ID
    assert receive.parent is not None and f"{receive.parent.span_id:016x}" == PARENT[36:52]
    assert dispatch.parent is not None and dispatch.parent.span_id == receive.context.span_id
    assert deliver.parent is not None and deliver.parent.span_id == dispatch.context.span_id
    assert deliver.attributes is not None
    assert deliver.attributes["http.response.status_code"] == 200
    assert deliver.attributes["url.full"] == watcher.url
    # The event keeps the trace that arrived; the hop's header is the deliver span.
    assert traced.event is not None and traced.event.attributes["traceparent"] == PARENT
    assert traced.headers["traceparent"] == _header_of(deliver)
    # With none sent, the receive span starts the trace and the event carries it.
    assert fresh_receive.parent is None
    assert started.event is not None
    assert started.event.attributes["traceparent"] == _header_of(fresh_receive)
    assert fresh_dispatch.context.trace_id == fresh_receive.context.trace_id
    assert started.headers["traceparent"] == _header_of(fresh_deliver)


@pytest.mark.nats
async def test_the_dispatcher_functions_spans_join_the_adapters_trace(
    tmp_path: Path,
    nats_service: NatsService,
    client: Client,
    watcher: RecordingWatcher,
    spans: InMemorySpanExporter,
) -> None:
    subject = unique("spans.")
    registry = nats_registry(
        tmp_path / "registry.yaml",
        {"orders": {"url": nats_service.url, "subject": subject}},
        watcher.url,
    )
    dispatcher = await DispatcherService(registry).start()
    adapter = await start_adapter(registry, dispatcher.url)
    try:
        await wait_for_state(adapter, "orders", "running")
        await publish_until(client, subject, b'{"n": 1}', lambda: bool(watcher.events))
    finally:
        await adapter.stop()
        await dispatcher.stop()

    event = watcher.events[0]
    receive = next(
        s for s in _named(spans, "receive") if _header_of(s) == event.attributes["traceparent"]
    )
    assert receive.parent is None  # no trace arrived: the adapter's receive span starts it
    dispatch = next(
        s for s in _named(spans, "dispatch") if s.context.trace_id == receive.context.trace_id
    )
    # The dispatch span of the dispatcher function (another process, in production) is the
    # child of the adapter's receive span: the trace crossed the hop on the raw event.
    assert dispatch.parent is not None and dispatch.parent.span_id == receive.context.span_id
