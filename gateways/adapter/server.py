"""The event-source server: hosts sources of the kinds table behind the ``Eventing`` service.

``ValidateEventSource`` parses the config (the reason is the ConfigError text naming the
field). ``StartEventSourceAcked`` starts the source with an ``emit`` that streams each event to
the client and returns once the client acknowledged it (raises when it was rejected or the
stream ended), at most ``maxInFlight`` at a time; the seed's ``StartEventSource`` counts an
event as accepted once written. Either way the source stops when the stream ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

import grpc

from gateways.adapter.stream import AckedStream
from gateways.adapter.wire import event_message, origin_of
from gateways.config import parse_source
from gateways.errors import ConfigError
from gateways.kinds import Kind, SourceContext
from gateways.protocol import eventing_pb2 as pb
from gateways.protocol import eventing_pb2_grpc as rpc
from gateways.source import Emit, Origin, RawEvent, Source

log = logging.getLogger(__name__)
MAX_MESSAGE_BYTES = 64 << 20
CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.keepalive_time_ms", 10_000),
    ("grpc.keepalive_timeout_ms", 5_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.http2.min_ping_interval_without_data_ms", 5_000),
]


class EventingService(rpc.EventingServicer):
    def __init__(
        self, kinds: Mapping[str, Kind], context: SourceContext, max_in_flight: int
    ) -> None:
        self.kinds = kinds
        self.context = context
        self.max_in_flight = max_in_flight

    async def ValidateEventSource(
        self, request: pb.EventSource, context: grpc.aio.ServicerContext
    ) -> pb.ValidEventSource:
        try:
            self._parse(request)
        except ConfigError as exc:
            return pb.ValidEventSource(isValid=False, reason=str(exc))
        return pb.ValidEventSource(isValid=True)

    async def StartEventSource(
        self, request: pb.EventSource, context: grpc.aio.ServicerContext
    ) -> None:
        write_lock = asyncio.Lock()

        async def emit(raw: RawEvent) -> None:
            async with write_lock:
                await context.write(event_message(request.name, raw))

        def report(origin: Origin, state: str, reason: str) -> None:
            log.info("%s/%s: %s %s", origin.kind, origin.source, state, reason)

        source = await self._start(request, emit, report, context)
        try:
            await asyncio.Event().wait()  # until the client goes away, which cancels this call
        finally:
            await _stop(source)

    async def StartEventSourceAcked(
        self, request_iterator: object, context: grpc.aio.ServicerContext
    ) -> None:
        first = await context.read()
        if first is grpc.aio.EOF or not first.HasField("start"):
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, "the first message must be a Start"
            )
        start = first.start
        origin = origin_of(start.eventSource)
        bound = min(start.maxInFlight or self.max_in_flight, self.max_in_flight)
        stream = AckedStream(context, origin, bound)
        source = await self._start(start.eventSource, stream.emit, stream.report, context)
        stream.report(origin, "running", "")  # tells the client the source is up
        stream.start()
        why = "the gateway client ended the stream"
        try:
            while (message := await context.read()) is not grpc.aio.EOF:
                if message.HasField("ack"):
                    stream.acknowledge(message.ack)
        except asyncio.CancelledError:
            why = "the gateway client went away"
            raise
        finally:
            stream.close(why)
            await _stop(source)
            await stream.stop()

    def _parse(self, request: pb.EventSource) -> object:
        label = f"{request.type}/{request.name}"
        if request.type not in self.kinds:
            runs = ", ".join(sorted(self.kinds)) or "none"
            problem = f"this event-source server runs no {request.type!r} sources (it runs: {runs})"
            raise ConfigError([f"{label}: {problem}"])
        try:
            text = request.value.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError([f"{label}: value: not UTF-8 text"]) from None
        return parse_source(request.type, request.name, text)

    async def _start(
        self,
        request: pb.EventSource,
        emit: Emit,
        report: Callable[[Origin, str, str], None],
        context: grpc.aio.ServicerContext,
    ) -> Source:
        try:
            config = self._parse(request)
        except ConfigError as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        origin = origin_of(request)
        source_context = SourceContext(self.context.settings, self.context.resources, report)
        source = self.kinds[request.type].create(origin, config, source_context)
        try:
            await source.start(emit)
        except Exception as exc:
            await _stop(source)
            log.error("%s/%s: failed to start: %s", request.type, request.name, exc)
            await context.abort(
                grpc.StatusCode.FAILED_PRECONDITION, f"{request.type}/{request.name}: {exc}"
            )
        log.info("started %s/%s for a gateway client", request.type, request.name)
        return source


async def _stop(source: Source) -> None:
    # Runs in a task of its own so a second cancellation of the call cannot interrupt it.
    task = asyncio.ensure_future(source.stop())
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await task
        raise
    except Exception:
        log.exception("error while stopping a source")


class EventSourceServer:
    """A grpc.aio server for the ``Eventing`` service; ``port`` 0 picks a free port."""

    def __init__(
        self,
        kinds: Mapping[str, Kind],
        context: SourceContext,
        host: str = "127.0.0.1",
        port: int = 0,
        max_in_flight: int = 256,
    ) -> None:
        self.service = EventingService(kinds, context, max_in_flight)
        self.host = host
        self.port = port
        self._server: grpc.aio.Server | None = None

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    async def start(self) -> None:
        server = grpc.aio.server(options=CHANNEL_OPTIONS)
        rpc.add_EventingServicer_to_server(self.service, server)
        self.port = server.add_insecure_port(self.address)
        if self.port == 0:
            raise OSError(f"event-source server: cannot listen on {self.host}")
        await server.start()
        self._server = server
        log.info("event-source server listening on %s", self.address)

    async def stop(self, grace: float = 5.0) -> None:
        if self._server is not None:
            await self._server.stop(grace)
            self._server = None
