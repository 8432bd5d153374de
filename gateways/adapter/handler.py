"""Each event a stream brings: handed to ``emit`` in a task of its own, then acknowledged.

At most ``max_in_flight`` events are being emitted at once (the server keeps to the same bound,
so this only guards against one that does not). An event is accepted on its stream once
``emit`` returned, rejected when it raised; once draining, new events are rejected at once.
The adapter's metrics are counted here, and its log records name the source; with
OpenTelemetry on, a ``receive`` span covers each event.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace

from gateways import logs, tracing
from gateways.adapter import metrics
from gateways.adapter.acks import AckWriter
from gateways.adapter.wire import raw_event
from gateways.inflight import InFlight
from gateways.protocol import eventing_pb2 as pb
from gateways.source import Emit, Origin

log = logging.getLogger(__name__)
SHUTTING_DOWN = "the gateway client is shutting down"


class EventHandler:
    def __init__(self, origin: Origin, emit: Emit, max_in_flight: int) -> None:
        self._origin = origin
        self._label = f"{origin.kind}/{origin.source}"
        self._emit = emit
        self._pool = InFlight(max_in_flight, self._label)
        self._draining = False
        self._metrics = metrics.for_origin(origin)

    async def take(self, event: pb.Event, acks: AckWriter | None) -> None:
        """Start handling ``event``; waits while ``max_in_flight`` events are in hand."""
        await self._pool.room()
        if self._draining:
            if acks is not None:
                acks.reject(event.deliveryId, SHUTTING_DOWN)
            return
        await self._pool.submit(self._handle(event, acks))

    async def drain(self, grace: float) -> None:
        """Take nothing more; events in hand finish within ``grace`` or are rejected."""
        self._draining = True
        await self._pool.drain(grace)

    async def _handle(self, event: pb.Event, acks: AckWriter | None) -> None:
        received, delivered, failed, in_flight, latency = self._metrics
        received.inc()
        in_flight.inc()
        started = time.monotonic()
        origin = self._origin
        token = logs.bind(gateway=origin.gateway, source=origin.source, kind=origin.kind)
        try:
            if tracing.active():
                await self._emit_traced(event)
            else:
                await self._emit(raw_event(event))
        except asyncio.CancelledError:
            failed.inc()
            if acks is not None:
                acks.reject(event.deliveryId, SHUTTING_DOWN)
            raise
        except Exception as exc:
            failed.inc()
            log.warning("%s: event not delivered, left for redelivery: %s", self._label, exc)
            if acks is not None:
                acks.reject(event.deliveryId, str(exc))
        else:
            delivered.inc()
            latency.observe(time.monotonic() - started)
            if acks is not None:
                acks.accept(event.deliveryId)
        finally:
            in_flight.dec()
            logs.unbind(token)

    async def _emit_traced(self, event: pb.Event) -> None:
        """``emit`` inside a ``receive`` span. A trace started here travels to the dispatcher
        function as the raw event's ``traceparent`` extension, so its spans join this one."""
        raw = raw_event(event)
        with tracing.receive(self._origin, raw.headers) as trace:
            if (
                trace is not None
                and tracing.TRACEPARENT not in raw.extensions
                and tracing.from_headers(raw.headers) is None
            ):
                raw = replace(raw, extensions={**raw.extensions, **trace.headers()})
            await self._emit(raw)
