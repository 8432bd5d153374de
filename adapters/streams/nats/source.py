"""The NATS source: a core NATS subscription, or a JetStream durable pull consumer.

Core NATS (optionally in a queue group) is at most once: a message is gone once received.
With ``jetStream`` each message is acked only after ``emit`` returned, and nacked with a delay
(the source's backoff, by delivery count) when it raised, so JetStream redelivers it; the
durable consumer resumes where it stopped after a restart, and replicas share it. At most
``GATEWAYS_MAX_IN_FLIGHT`` (and ``maxAckPending``) messages are being emitted at once.

A lost or unreachable server is retried with ``backoff`` while the status says "degraded";
it says "running" again once subscribed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from adapters.streams.nats.message import raw_event
from adapters.streams.nats.options import connect_options
from gateways.config.common import redact_url
from gateways.config.nats import NATSConfig
from gateways.errors import GatewayError
from gateways.kinds import SourceContext
from gateways.source import Emit, Origin

log = logging.getLogger(__name__)
FETCH_BATCH = 256
FETCH_WAIT = 5.0
STOP_GRACE = 10.0
CORE_PENDING_LIMIT = 65_536
_POLICIES = {"all": DeliverPolicy.ALL, "new": DeliverPolicy.NEW, "last": DeliverPolicy.LAST}


class NATSSource:
    def __init__(self, origin: Origin, config: NATSConfig, context: SourceContext) -> None:
        self.origin = origin
        self.config = config
        self.context = context
        self.address = f"{redact_url(config.url)} {config.subject}"
        bound = int(getattr(context.settings, "max_in_flight", 256))
        if config.jet_stream is not None:
            bound = min(bound, config.jet_stream.max_ack_pending)
        self._slots = asyncio.Semaphore(bound)
        self._handlers: set[asyncio.Task[None]] = set()
        self._emit: Emit | None = None
        self._options: dict[str, Any] = {}
        self._client: Client | None = None
        self._pump: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self._lost_reason = ""
        self._connection = 0  # counts connections, so callbacks of a closed one are ignored
        self._supervisor: asyncio.Task[None] | None = None

    @property
    def _label(self) -> str:
        return f"nats/{self.origin.source}"

    async def start(self, emit: Emit) -> None:
        self._emit = emit
        self._options = connect_options(self.config)  # raises naming the field
        problem = ""
        try:
            await self._connect()
        except Exception as exc:
            problem = _describe(exc)
            await self._disconnect()
            log.warning("%s: %s: %s; retrying", self._label, redact_url(self.config.url), problem)
        self._supervisor = asyncio.create_task(self._supervise(problem), name=self._label)

    async def stop(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
            self._supervisor = None
        await self._disconnect()

    async def _supervise(self, problem: str) -> None:
        attempt = 0
        while True:
            if not problem:
                await self._lost.wait()
                problem = self._lost_reason or "connection lost"
                await self._disconnect()
                attempt = 0
            if self.config.backoff.exhausted(attempt):
                self._report("failed", f"{problem}; gave up after {attempt} tries")
                return
            delay = self.config.backoff.delay(attempt)
            attempt += 1
            self._report("degraded", f"{problem}; reconnecting in {delay:.1f}s")
            await asyncio.sleep(delay)
            try:
                await self._connect()
            except Exception as exc:
                problem = _describe(exc)
                await self._disconnect()
                continue
            problem = ""
            self._report("running", "")

    async def _connect(self) -> None:
        self._lost.clear()
        self._lost_reason = ""
        self._connection += 1
        connection = self._connection

        async def lost() -> None:
            if connection == self._connection:  # not a late word from a connection before
                self._lose("disconnected from the server")

        async def error(exc: Exception) -> None:
            # Failed connects are reported by the supervisor; errors once connected matter here
            # (a slow consumer, a permissions violation).
            log.log(logging.WARNING if self._client else logging.DEBUG, "%s: %s", self._label, exc)

        client = await nats.connect(
            servers=[self.config.url],
            name=f"gateways {self.origin.gateway}/{self.origin.source}",
            # We reconnect, with the source's backoff, and resubscribe; nats-py gives up at once.
            allow_reconnect=False,
            max_reconnect_attempts=1,
            reconnect_time_wait=0,
            connect_timeout=5,
            disconnected_cb=lost,
            closed_cb=lost,
            error_cb=error,
            **self._options,
        )
        self._client = client
        jet_stream = self.config.jet_stream
        if jet_stream is None:
            subscription = await client.subscribe(
                self.config.subject,
                queue=self.config.queue or "",
                pending_msgs_limit=CORE_PENDING_LIMIT,
            )
            self._pump = asyncio.create_task(self._pump_core(subscription))
            return
        consumer = ConsumerConfig(
            durable_name=jet_stream.durable,
            deliver_policy=_POLICIES[jet_stream.deliver_policy],
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=jet_stream.ack_wait.total_seconds(),
            max_ack_pending=jet_stream.max_ack_pending,
        )
        try:
            pull = await client.jetstream().pull_subscribe(
                self.config.subject,
                durable=jet_stream.durable,
                stream=jet_stream.stream,
                config=consumer,
            )
        except NotFoundError:
            missing = (
                f"jetStream.stream: no stream {jet_stream.stream!r}"
                if jet_stream.stream
                else f"jetStream: no stream holds subject {self.config.subject!r}"
            )
            raise GatewayError(f"{missing} on the server") from None
        self._pump = asyncio.create_task(self._pump_jetstream(pull))

    async def _disconnect(self) -> None:
        """Stop taking messages; in-flight ones finish (or are nacked); close the connection."""
        pump, self._pump = self._pump, None
        if pump is not None:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
        if self._handlers:
            await asyncio.wait(set(self._handlers), timeout=STOP_GRACE)
        for handler in list(self._handlers):
            handler.cancel()
        if self._handlers:
            await asyncio.wait(set(self._handlers), timeout=1.0)
        client, self._client = self._client, None
        if client is not None and not client.is_closed:
            with contextlib.suppress(Exception):
                await client.flush(timeout=1)  # the last acks and naks
            with contextlib.suppress(Exception):
                await client.close()

    async def _pump_core(self, subscription: Any) -> None:
        try:
            async for msg in subscription.messages:
                await self._slots.acquire()
                self._spawn(msg, jetstream=False)
        except Exception as exc:
            self._lose(f"subscription ended: {_describe(exc)}")
        else:
            self._lose("subscription ended")

    async def _pump_jetstream(self, pull: Any) -> None:
        try:
            while True:
                await self._slots.acquire()
                taken = 1
                while taken < FETCH_BATCH and not self._slots.locked():
                    await self._slots.acquire()
                    taken += 1
                try:
                    messages = await pull.fetch(taken, timeout=FETCH_WAIT)
                except TimeoutError:
                    messages = []
                except BaseException:
                    for _ in range(taken):
                        self._slots.release()
                    raise
                for _ in range(taken - len(messages)):
                    self._slots.release()
                for msg in messages:
                    self._spawn(msg, jetstream=True)
        except Exception as exc:
            self._lose(f"JetStream consumer: {_describe(exc)}")

    def _spawn(self, msg: Msg, jetstream: bool) -> None:
        handler = asyncio.create_task(self._handle(msg, jetstream))
        self._handlers.add(handler)
        handler.add_done_callback(self._handlers.discard)

    async def _handle(self, msg: Msg, jetstream: bool) -> None:
        assert self._emit is not None
        try:
            await self._emit(raw_event(msg, jetstream))
        except asyncio.CancelledError:
            if jetstream:
                await _quietly(msg.nak())
            raise
        except Exception as exc:
            if jetstream:
                delivered = msg.metadata.num_delivered
                delay = self.config.backoff.delay(max(0, delivered - 1))
                log.warning(
                    "%s: %s not delivered (try %d), nak for %.1fs: %s",
                    self._label,
                    msg.subject,
                    delivered,
                    delay,
                    exc,
                )
                await _quietly(msg.nak(delay=delay))
            else:
                log.warning(
                    "%s: %s not delivered (core NATS: dropped): %s", self._label, msg.subject, exc
                )
        else:
            if jetstream:
                await _quietly(msg.ack())
        finally:
            self._slots.release()

    def _lose(self, reason: str) -> None:
        if not self._lost.is_set():
            self._lost_reason = reason
            self._lost.set()

    def _report(self, state: str, reason: str) -> None:
        if state != "running":
            log.warning("%s: %s: %s", self._label, state, reason)
        where = redact_url(self.config.url)
        self.context.on_status(self.origin, state, f"{where}: {reason}" if reason else "")


async def _quietly(acknowledgement: Any) -> None:
    # A lost connection loses the ack; JetStream redelivers after ackWait, which is at least once.
    with contextlib.suppress(Exception):
        await acknowledgement


def _describe(exc: BaseException) -> str:
    description = getattr(exc, "description", None)  # a JetStream API error's own words
    text = description or str(exc).removeprefix("nats: ").strip()
    return text or type(exc).__name__


class _NATSKind:
    name = "nats"

    def create(self, origin: Origin, config: Any, context: SourceContext) -> NATSSource:
        return NATSSource(origin, config, context)


KIND = _NATSKind()
