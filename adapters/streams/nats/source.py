"""The NATS source: a core NATS subscription, or a JetStream durable pull consumer.

Core NATS (optionally in a queue group) is at most once: a message is gone once received.
With ``jetStream`` each message is acked only after ``emit`` returned, and nacked with a delay
(the source's backoff, by delivery count) when it raised, so JetStream redelivers it; the
durable consumer resumes where it stopped after a restart, and replicas share it. At most
``GATEWAYS_MAX_IN_FLIGHT`` (and ``maxAckPending``) messages are being emitted at once (the
core's :class:`InFlight` pool); the JetStream pump fetches only as many as the pool has room for.

Each connection is one session of the core's :class:`Supervisor`: a lost or unreachable server
is retried with ``backoff`` while the status says "degraded"; it says "running" again once
subscribed.

With ``format: s3`` each message is an S3 event notification: every record is emitted as its own
event (:func:`gateways.events.s3.per_record`), and the message is acked once all were delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.client import JetStreamContext

from adapters.streams.nats import client as nats_client
from adapters.streams.nats.config import NATSConfig
from adapters.streams.nats.message import raw_event
from gateways.config.common import redact_url
from gateways.events.s3 import per_record
from gateways.inflight import InFlight
from gateways.kinds import SourceContext, SourceKind
from gateways.source import Emit, Origin
from gateways.supervised import SupervisedSource

log = logging.getLogger(__name__)
FETCH_BATCH = 256
FETCH_WAIT = 5.0


class NATSSource(SupervisedSource[NATSConfig]):
    kind = "nats"

    def __init__(self, origin: Origin, config: NATSConfig, context: SourceContext) -> None:
        super().__init__(origin, config, context)
        self.address = f"{redact_url(config.url)} {config.subject}"
        limit = context.max_in_flight
        if config.jet_stream is not None:
            limit = min(limit, config.jet_stream.max_ack_pending)
        self._pool = InFlight(limit, self.label)
        self._options: dict[str, Any] = {}

    @property
    def where(self) -> str:
        return redact_url(self.config.url)

    def describe(self, exc: BaseException) -> str:
        return nats_client.describe(exc)

    async def start(self, emit: Emit) -> None:
        if self.config.format == "s3":  # each record of a notification is its own event
            emit = per_record(emit, self.label)
        await super().start(emit)

    async def prepare(self) -> None:
        self._options = nats_client.connect_options(self.config)  # raises naming the field

    async def session(self, connected: Callable[[], None]) -> str:  # the session drains the pool
        """One connection: subscribe, pump messages into the pool until it is lost."""
        lost = asyncio.Event()
        up = False

        async def on_lost() -> None:
            lost.set()  # a late word from this connection after the session ended is harmless

        async def on_error(exc: Exception) -> None:
            # Failed connects are the supervisor's to report; errors once connected matter here
            # (a slow consumer, a permissions violation).
            log.log(logging.WARNING if up else logging.DEBUG, "%s: %s", self.label, exc)

        name = f"gateways {self.origin.gateway}/{self.origin.source}"
        client = await nats_client.connect(self.config, self._options, name, on_lost, on_error)
        tasks: list[asyncio.Task[Any]] = []
        try:
            if self.config.jet_stream is None:
                subscription = await nats_client.subscribe_core(client, self.config)
                pump = asyncio.create_task(self._pump_core(subscription))
            else:
                pull = await nats_client.subscribe_jetstream(client, self.config)
                pump = asyncio.create_task(self._pump_jetstream(pull))
            tasks = [pump, asyncio.create_task(lost.wait())]
            up = True
            connected()
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            return pump.result() if pump.done() else "disconnected from the server"
        finally:
            # Stop taking messages; in-flight ones finish (or are nacked); close the connection.
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks)
            await self._pool.drain()
            await nats_client.close(client)

    async def _pump_core(self, subscription: Subscription) -> str:
        """Hand each message to the pool; returns why the subscription ended."""
        try:
            async for msg in subscription.messages:
                await self._pool.submit(self._handle(msg, jetstream=False))
        except Exception as exc:
            return f"subscription ended: {nats_client.describe(exc)}"
        return "subscription ended"

    async def _pump_jetstream(self, pull: JetStreamContext.PullSubscription) -> str:
        """Fetch as many messages as the pool has room for; returns why the consumer ended."""
        try:
            while True:
                await self._pool.room()
                try:
                    messages = await pull.fetch(min(self._pool.free, FETCH_BATCH), FETCH_WAIT)
                except TimeoutError:
                    continue
                for msg in messages:
                    await self._pool.submit(self._handle(msg, jetstream=True))
        except Exception as exc:
            return f"JetStream consumer: {nats_client.describe(exc)}"

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
                    self.label,
                    msg.subject,
                    delivered,
                    delay,
                    exc,
                )
                await _quietly(msg.nak(delay=delay))
            else:
                log.warning(
                    "%s: %s not delivered (core NATS: dropped): %s", self.label, msg.subject, exc
                )
        else:
            if jetstream:
                await _quietly(msg.ack())


async def _quietly(acknowledgement: Any) -> None:
    # A lost connection loses the ack; JetStream redelivers after ackWait, which is at least once.
    with contextlib.suppress(Exception):
        await acknowledgement


KIND = SourceKind(name="nats", config=NATSConfig, create=NATSSource)
