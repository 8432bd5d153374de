"""The server's side of one StartEventSourceAcked call: events out, acknowledgements in.

``emit`` queues the event and returns once the client acknowledged it (raises when the client
rejected it, or the stream ended first); at most ``max_in_flight`` events are unacknowledged.
One writer task sends what is queued, several events in one message when more than one is
ready, so the per-message cost of gRPC is paid once per batch under load and latency stays
that of a single write when idle.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import grpc

from gateways.adapter.wire import event_message
from gateways.errors import GatewayError
from gateways.protocol import eventing_pb2 as pb
from gateways.source import Origin, RawEvent

log = logging.getLogger(__name__)
# A batch of events stays this far under the channel's message limit (MAX_MESSAGE_BYTES): a
# burst of large events queued at once would otherwise make one message gRPC refuses to send.
BATCH_BYTES = 4 << 20


class EventNotAcceptedError(GatewayError):
    """The client did not take the event: it rejected it, or the stream ended first."""

    def __init__(self, source: str, why: str) -> None:
        super().__init__(f"{source}: event not accepted by the gateway client: {why}")


class AckedStream:
    def __init__(
        self, context: grpc.aio.ServicerContext, origin: Origin, max_in_flight: int
    ) -> None:
        self._context = context
        self._origin = origin
        self._label = f"{origin.kind}/{origin.source}"
        self._slots = asyncio.Semaphore(max_in_flight)
        self._pending: dict[int, asyncio.Future[None]] = {}
        self._last_id = 0
        self._closed: str | None = None
        self._outbox: list[pb.Event | pb.SourceStatus] = []
        self._ready = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._writer = asyncio.create_task(self._write(), name=f"stream {self._label}")

    async def emit(self, raw: RawEvent) -> None:
        async with self._slots:
            if self._closed is not None:
                raise EventNotAcceptedError(self._label, self._closed)
            self._last_id += 1
            delivery_id = self._last_id
            acked = asyncio.get_running_loop().create_future()
            self._pending[delivery_id] = acked
            self._outbox.append(event_message(self._origin.source, raw, delivery_id))
            self._ready.set()
            try:
                await acked
            finally:
                self._pending.pop(delivery_id, None)

    def acknowledge(self, ack: pb.Ack) -> None:
        for delivery_id in ack.deliveryIds:
            acked = self._pending.get(delivery_id)
            if acked is None or acked.done():
                continue  # unknown or already settled: nothing to do
            if ack.ok:
                acked.set_result(None)
            else:
                acked.set_exception(EventNotAcceptedError(self._label, ack.reason or "rejected"))

    def report(self, origin: Origin, state: str, reason: str) -> None:
        """The source's ``on_status``: forwarded to the client as a SourceStatus message."""
        if self._closed is None:
            self._outbox.append(pb.SourceStatus(state=state, reason=reason))
            self._ready.set()

    def close(self, why: str) -> None:
        """Fail every event still waiting for its acknowledgement; later emits fail at once."""
        self._closed = why
        for acked in self._pending.values():
            if not acked.done():
                acked.set_exception(EventNotAcceptedError(self._label, why))

    async def stop(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            try:
                await self._writer
            except asyncio.CancelledError:
                if not self._writer.cancelled():
                    raise

    async def _write(self) -> None:
        try:
            while True:
                await self._ready.wait()
                self._ready.clear()
                while self._outbox:
                    queued, self._outbox = self._outbox, []
                    for message in _messages(queued):
                        await self._context.write(message)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.debug("%s: stream write failed: %s", self._label, exc)
            self.close(f"the stream broke: {exc}")


def _messages(queued: list[pb.Event | pb.SourceStatus]) -> Iterator[pb.ServerMessage]:
    """Consecutive events as one message (a batch when several, of at most ``BATCH_BYTES``
    unless one event alone is larger), each status on its own."""
    events: list[pb.Event] = []
    size = 0
    for item in queued:
        if isinstance(item, pb.Event):
            length = item.ByteSize()
            if events and size + length > BATCH_BYTES:
                yield _events(events)
                events, size = [], 0
            events.append(item)
            size += length
            continue
        if events:
            yield _events(events)
            events, size = [], 0
        yield pb.ServerMessage(status=item)
    if events:
        yield _events(events)


def _events(events: list[pb.Event]) -> pb.ServerMessage:
    if len(events) == 1:
        return pb.ServerMessage(event=events[0])
    return pb.ServerMessage(events=pb.EventBatch(events=events))
