"""The gateway client's side of one source: run it on an event-source server, deliver its events.

``start`` validates the source on the server (an invalid one fails to start with the server's
reason), then keeps a ``StartEventSourceAcked`` stream open in the background: each event goes
to ``emit`` and is acknowledged once ``emit`` returns, rejected when it raises, so the server
acks or nacks the broker message only then. A lost server is retried with the source's backoff
while its status says so. A seed-era server (no ``StartEventSourceAcked``) is driven with
``StartEventSource``; its events are then at most once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import grpc

from gateways.adapter.acks import AckWriter
from gateways.adapter.handler import EventHandler
from gateways.adapter.wire import event_source
from gateways.config.common import Backoff
from gateways.errors import GatewayError
from gateways.protocol import eventing_pb2 as pb
from gateways.registry.model import Entry
from gateways.source import Emit, Origin

log = logging.getLogger(__name__)
VALIDATE_TIMEOUT = 10.0
START_TIMEOUT = 15.0  # a server answers StartEventSourceAcked with SourceStatus "running"
StatusCallback = Callable[[Origin, str, str], None]
_REFUSED = (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION)


class InvalidSourceError(GatewayError):
    """The event-source server refused the source; the message is its reason."""


class RemoteSource:
    def __init__(
        self,
        entry: Entry,
        stub: Any,
        address: str,
        on_status: StatusCallback,
        backoff: Backoff,
        max_in_flight: int,
        grace: float,
    ) -> None:
        self.origin: Origin = entry.origin
        self.address = address
        self._message = event_source(entry)
        self._stub = stub
        self._on_status = on_status
        self._backoff = backoff
        self._max_in_flight = max_in_flight
        self._grace = grace
        self._events: EventHandler | None = None
        self._acks: AckWriter | None = None
        self._call: Any = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._acked_protocol = True
        self._state, self._reason = "running", ""  # what the reconciler shows after ``start``
        self._visible = False  # statuses reach the reconciler only once ``start`` returned
        self._started: asyncio.Future[None] | None = None  # settled by the first attempt

    async def start(self, emit: Emit) -> None:
        """Returns once the server runs the source, or could not be reached (then retried).

        Raises when the server refuses the source (the reconciler marks it failed).
        """
        self._events = EventHandler(self.origin, emit, self._max_in_flight)
        loop = asyncio.get_running_loop()
        started = self._started = loop.create_future()
        self._task = asyncio.create_task(self._run(), name=f"remote source {self._label}")
        try:
            await asyncio.wait_for(asyncio.shield(started), START_TIMEOUT)
        except TimeoutError:
            started.cancel()
            self._report("degraded", f"event-source server {self.address}: no answer yet")
        except GatewayError:
            self._stopping = True
            await _cancel(self._task)
            raise
        # The reconciler marks the source running right after this returns; what the first
        # attempt found (a server still unreachable) is reported after that.
        loop.call_soon(self._publish)

    async def stop(self) -> None:
        """Stop taking events; in-flight ones finish within the grace period or are rejected."""
        self._stopping = True
        if self._events is not None:
            await self._events.drain(self._grace)
        task, self._task = self._task, None
        if task is None:
            return
        if self._acks is not None:
            self._acks.finish()  # flush the last acks, then half-close: the server stops the source
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(task), timeout=5.0)
        if not task.done() and self._call is not None:
            self._call.cancel()
        await _cancel(task)

    @property
    def _label(self) -> str:
        return f"{self.origin.kind}/{self.origin.source}"

    async def _validate(self) -> None:
        try:
            reply = await self._stub.ValidateEventSource(self._message, timeout=VALIDATE_TIMEOUT)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.UNIMPLEMENTED:
                return  # the server validates when the source starts
            raise
        if not reply.isValid:
            raise InvalidSourceError(
                reply.reason or f"{self._label}: refused by the event-source server"
            )

    async def _run(self) -> None:
        attempt = 0
        while not self._stopping:
            state, problem = "degraded", ""
            try:
                await self._validate()
                healthy = await self._serve()
                if healthy:
                    attempt = 0
                problem = "the event-source server ended the stream"
            except InvalidSourceError as exc:
                state, problem = "failed", str(exc)
            except grpc.aio.AioRpcError as exc:
                if exc.code() == grpc.StatusCode.UNIMPLEMENTED and self._acked_protocol:
                    log.warning(
                        "%s: %s has no StartEventSourceAcked; events are at most once",
                        self._label,
                        self.address,
                    )
                    self._acked_protocol = False
                    continue
                if exc.code() in _REFUSED:
                    state, problem = "failed", exc.details() or _describe(exc)
                else:
                    problem = _describe(exc)
            except Exception as exc:  # keep the source alive whatever the server sent
                log.exception("%s: stream from %s failed", self._label, self.address)
                problem = f"{type(exc).__name__}: {exc}"
            if self._stopping:
                return
            if state == "failed" and self._settle_start(_without_label(problem, self._label)):
                return  # refused at once: ``start`` raises with the reason
            self._settle_start()
            if self._backoff.exhausted(attempt):
                self._report(
                    "failed",
                    f"event-source server {self.address}: {problem}; gave up after {attempt} tries",
                )
                return
            delay = self._backoff.delay(attempt)
            attempt += 1
            self._report(
                state, f"event-source server {self.address}: {problem}; retrying in {delay:.1f}s"
            )
            await asyncio.sleep(delay)

    async def _serve(self) -> bool:
        """Receive events until the stream ends; True once the server showed it runs the source."""
        if self._acked_protocol:
            call = self._stub.StartEventSourceAcked()
            await call.write(
                pb.ClientMessage(
                    start=pb.Start(eventSource=self._message, maxInFlight=self._max_in_flight)
                )
            )
            acks: AckWriter | None = AckWriter(call, self._label)
        else:
            call, acks = self._stub.StartEventSource(self._message), None
            self._settle_start()  # a seed-era server says nothing until its first event
        self._call, self._acks = call, acks
        healthy = False
        assert self._events is not None
        try:
            if acks is not None:
                acks.start()
            while (message := await call.read()) is not grpc.aio.EOF:
                if not healthy:
                    healthy = True
                    self._report("running", "")
                    self._settle_start()
                if isinstance(message, pb.ServerMessage) and message.HasField("status"):
                    if message.status.state:
                        self._report(message.status.state, message.status.reason)
                    continue
                for event in _events_of(message):
                    await self._events.take(event, acks)
            return healthy
        finally:
            self._call = None
            if acks is not None:
                await acks.close()
            if self._acks is acks:
                self._acks = None

    def _settle_start(self, refused: str = "") -> bool:
        """End ``start``'s wait (with the server's refusal, if any); False if it already ended."""
        if self._started is None or self._started.done():
            return False
        if refused:
            self._started.set_exception(GatewayError(refused))
        else:
            self._started.set_result(None)
        return True

    def _report(self, state: str, reason: str) -> None:
        if (state, reason) == (self._state, self._reason):
            return
        self._state, self._reason = state, reason
        if state != "running":
            log.warning("%s: %s: %s", self._label, state, reason)
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


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _without_label(reason: str, label: str) -> str:
    """The server's reason without its leading ``kind/name: `` (the reconciler adds it)."""
    return reason.removeprefix(f"{label}: ")


def _describe(exc: grpc.aio.AioRpcError) -> str:
    return f"{exc.code().name}: {exc.details() or 'no details'}"
