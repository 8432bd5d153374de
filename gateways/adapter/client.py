"""The gateway client's side of one source: run it on an event-source server, deliver its events.

``start`` validates the source on the server (an invalid one fails to start with the server's
reason), then keeps a ``StartEventSourceAcked`` stream open in the background: each event goes
to ``emit`` and is acknowledged once ``emit`` returns, rejected when it raises, so the server
acks or nacks the broker message only then. Each stream is one session of the core's
:class:`Supervisor`: a lost server is retried with the source's backoff while its status says
so.

A seed-era server is spoken to in its own generation (:mod:`gateways.config.server`): fixed by
the server's ``protocol``, else by the ConfigMap's seed-era release label, else found out: a
server without ``StartEventSourceAcked`` is driven with ``StartEventSource`` (its events are
then at most once), and one whose ``ValidateEventSource`` names the version it expects gets
that version in field 4.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable
from typing import Any

import grpc

from gateways.adapter.acks import AckWriter
from gateways.adapter.handler import EventHandler
from gateways.adapter.wire import event_source
from gateways.config.common import Backoff
from gateways.config.server import Generation, ServerSpec, generation
from gateways.errors import GatewayError
from gateways.protocol import eventing_pb2 as pb
from gateways.registry.model import Entry
from gateways.source import Emit, Origin
from gateways.supervisor import PermanentError, Supervisor

log = logging.getLogger(__name__)
VALIDATE_TIMEOUT = 10.0
START_TIMEOUT = 15.0  # a server answers StartEventSourceAcked with SourceStatus "running"
StatusCallback = Callable[[Origin, str, str], None]
_REFUSED = (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION)
# A v0.10/v0.11 server's refusal of a source whose field 4 is not its version.
_EXPECTS_VERSION = re.compile(r"gateway expects (v\d+\.\d+(?:\.\d+)?) version")


class InvalidSourceError(GatewayError):
    """The event-source server refused the source; the message is its reason."""


class RemoteSource:
    def __init__(
        self,
        entry: Entry,
        stub: Any,
        server: ServerSpec,
        on_status: StatusCallback,
        backoff: Backoff,
        max_in_flight: int,
        grace: float,
    ) -> None:
        self.origin: Origin = entry.origin
        self.address = address = server.address
        self._entry = entry
        # None: not known yet (``auto``): the acknowledged stream is offered first.
        self._generation = server.fixed or generation(entry.seed_version or "")
        self._fixed = server.fixed is not None
        self._message = event_source(entry, self._generation or Generation("acked"))
        self._stub = stub
        self._on_status = on_status
        self._max_in_flight = max_in_flight
        self._grace = grace
        self._supervisor = Supervisor(
            f"remote source {self._label}",
            backoff,
            self._session,
            self._show,
            describe=_describe,
            where=f"event-source server {address}",
        )
        self._events: EventHandler | None = None
        self._acks: AckWriter | None = None
        self._call: Any = None
        self._stream_ended = asyncio.Event()
        self._stopping = False
        self._refused = False  # the last session ended with the server refusing the source
        self._state, self._reason = "running", ""  # what the reconciler shows after ``start``
        self._visible = False  # statuses reach the reconciler only once ``start`` returned
        self._returned = False  # ``start`` returned: a refusal no longer makes it raise

    async def start(self, emit: Emit) -> None:
        """Returns once the server runs the source, or could not be reached (then retried).

        Raises when the server refuses the source (the reconciler marks it failed).
        """
        self._events = EventHandler(self.origin, emit, self._max_in_flight)
        starting = asyncio.ensure_future(self._supervisor.start())
        try:
            await asyncio.wait_for(asyncio.shield(starting), START_TIMEOUT)
        except TimeoutError:
            starting.add_done_callback(_retrieve)
            reason = f"event-source server {self.address}: no answer yet"
            log.warning("%s: degraded: %s", self._label, reason)
            self._show("degraded", reason)
        except PermanentError as exc:
            self._stopping = True
            # The server's own refusal (its cause), without the supervisor's "where": it names
            # the source's config, not the server.
            refusal = str(exc.__cause__ or exc)
            raise GatewayError(_without_label(refusal, self._label)) from None
        finally:
            self._returned = True
        # The reconciler marks the source running right after this returns; what the first
        # attempt found (a server still unreachable) is reported after that.
        asyncio.get_running_loop().call_soon(self._publish)

    async def stop(self) -> None:
        """Stop taking events; in-flight ones finish within the grace period or are rejected."""
        self._stopping = True
        if self._events is not None:
            await self._events.drain(self._grace)
        if self._acks is not None:
            self._acks.finish()  # flush the last acks, then half-close: the server stops the source
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stream_ended.wait(), timeout=5.0)
        if self._call is not None:
            self._call.cancel()
        await self._supervisor.stop()

    @property
    def _label(self) -> str:
        return f"{self.origin.kind}/{self.origin.source}"

    async def _session(self, connected: Callable[[], None]) -> str:
        """One stream: validate, start the source on the server, take its events until it ends."""
        self._refused = False
        try:
            ended = await self._stream(connected)
        except Exception as exc:
            if not self._stopping:
                self._judge(exc)
                raise
            ended = ""
        if self._stopping:
            await asyncio.Event().wait()  # ``stop`` cancels this session: nothing to retry
        return ended

    async def _stream(self, connected: Callable[[], None]) -> str:
        await self._validate()
        try:
            return await self._serve(connected)
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.UNIMPLEMENTED:
                raise
            if self._generation is not None:
                if self._generation.style != "acked":
                    raise
                raise InvalidSourceError(
                    f"{self.address} has no StartEventSourceAcked (protocol: acked); set the"
                    " server's protocol to auto or to its gateway-era release"
                ) from None
        log.warning(
            "%s: %s has no StartEventSourceAcked; events are at most once",
            self._label,
            self.address,
        )
        self._speak(Generation("typed"))
        return await self._serve(connected)

    def _speak(self, spoken: Generation) -> None:
        self._generation = spoken
        self._message = event_source(self._entry, spoken)

    def _judge(self, exc: Exception) -> None:
        """Raise instead of ``exc`` when the server refused the source: before ``start`` returned,
        a PermanentError (``start`` raises it); after, the source is shown failed and retried
        with its backoff (the server may change, a secret appear)."""
        refusal = None
        if isinstance(exc, InvalidSourceError):
            refusal = str(exc)
        elif isinstance(exc, grpc.aio.AioRpcError):
            if exc.code() in _REFUSED:
                refusal = exc.details() or _describe(exc)
        else:  # keep the source alive whatever the server sent
            log.exception("%s: stream from %s failed", self._label, self.address)
        if refusal is None:
            return
        if not self._returned:
            raise PermanentError(refusal) from exc
        self._refused = True
        raise GatewayError(refusal) from exc

    async def _validate(self) -> None:
        try:
            reply = await self._stub.ValidateEventSource(self._message, timeout=VALIDATE_TIMEOUT)
            expected = None if reply.isValid else _EXPECTS_VERSION.search(reply.reason)
            if expected and not self._fixed and self._generation != generation(expected[1]):
                spoken = generation(expected[1]) or Generation("versioned", expected[1])
                log.info("%s: %s speaks the %s protocol", self._label, self.address, spoken)
                self._speak(spoken)
                reply = await self._stub.ValidateEventSource(
                    self._message, timeout=VALIDATE_TIMEOUT
                )
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.UNIMPLEMENTED:
                return  # the server validates when the source starts
            raise
        if not reply.isValid:
            raise InvalidSourceError(
                reply.reason or f"{self._label}: refused by the event-source server"
            )

    async def _serve(self, connected: Callable[[], None]) -> str:
        """Receive events until the stream ends; ``connected`` once the server runs the source."""
        self._stream_ended.clear()
        if self._generation is None or self._generation.style == "acked":
            call = self._stub.StartEventSourceAcked()
            await call.write(
                pb.ClientMessage(
                    start=pb.Start(eventSource=self._message, maxInFlight=self._max_in_flight)
                )
            )
            acks: AckWriter | None = AckWriter(call, self._label)
        else:
            call, acks = self._stub.StartEventSource(self._message), None
            connected()  # a seed-era server says nothing until its first event
        self._call, self._acks = call, acks
        up = acks is None
        assert self._events is not None
        try:
            if acks is not None:
                acks.start()
            while (message := await call.read()) is not grpc.aio.EOF:
                if not up:
                    up = True
                    self._show("running", "")
                    connected()
                if isinstance(message, pb.ServerMessage) and message.HasField("status"):
                    if message.status.state:
                        self._tell(message.status.state, message.status.reason)
                    continue
                for event in _events_of(message):
                    await self._events.take(event, acks)
            return "the event-source server ended the stream"
        finally:
            self._call = None
            if acks is not None:
                await acks.close()
            if self._acks is acks:
                self._acks = None
            self._stream_ended.set()

    def _tell(self, state: str, reason: str) -> None:
        """A status the server reported for the source itself (e.g. its broker lost)."""
        if state != "running" and (state, reason) != (self._state, self._reason):
            log.warning("%s: %s: %s", self._label, state, reason)
        self._show(state, reason)

    def _show(self, state: str, reason: str) -> None:
        if state == "degraded" and self._refused:
            state = "failed"  # refused, and retried in case the server changes its mind
        if (state, reason) == (self._state, self._reason):
            return
        self._state, self._reason = state, reason
        if self._visible:
            self._on_status(self.origin, state, reason)

    def _publish(self) -> None:
        self._visible = True
        if self._state != "running":
            self._on_status(self.origin, self._state, self._reason)


def _events_of(message: Any) -> list[pb.Event]:
    """The events a message carries: a ServerMessage's event or batch, or a seed-era Event."""
    if isinstance(message, pb.Event):
        return [message]
    kind = message.WhichOneof("message")
    if kind == "event":
        return [message.event]
    return list(message.events.events) if kind == "events" else []


def _retrieve(task: asyncio.Future[None]) -> None:
    """A first attempt ``start`` stopped waiting for: its outcome was reported as a status."""
    if not task.cancelled():
        task.exception()


def _without_label(reason: str, label: str) -> str:
    """The server's reason without its leading ``kind/name: `` (the reconciler adds it)."""
    return reason.removeprefix(f"{label}: ")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, grpc.aio.AioRpcError):
        return f"{exc.code().name}: {exc.details() or 'no details'}"
    if isinstance(exc, GatewayError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
