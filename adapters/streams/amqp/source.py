"""AMQP sources: each delivery acked only after ``emit`` returned, nacked by policy when it fails.

``prefetch`` (basic.qos) bounds the deliveries in flight. A delivery whose ``emit`` fails is
nacked as ``onFailure`` says: requeued after the config's backoff (so a failing watcher is not
hammered), or rejected, which sends it to the queue's ``x-dead-letter-exchange``. A lost
connection is re-established with the config's backoff, and what it had not acked the broker
delivers again (``amqpredelivered: true``). Connection handling: :mod:`.consumer`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from typing import Any

from adapters.streams.amqp.broker import connection_parameters
from adapters.streams.amqp.consumer import Consumer, Delivery
from adapters.streams.amqp.message import raw_event
from gateways.config.amqp import AMQPConfig
from gateways.config.common import redact_url
from gateways.kinds import SourceContext
from gateways.source import Emit, Origin

log = logging.getLogger(__name__)

STOP_GRACE = 5.0  # seconds in-flight deliveries get to finish on stop


class AMQPSource:
    def __init__(
        self,
        origin: Origin,
        config: AMQPConfig,
        context: SourceContext,
        *,
        stop_grace: float = STOP_GRACE,
    ) -> None:
        self.origin = origin
        self.config = config
        self.context = context
        where = (redact_url(config.url), config.exchange_name, config.routing_key)
        self.address = " ".join(part for part in where if part)
        self._stop_grace = stop_grace
        self._stopping = threading.Event()  # read on the pika thread too
        self._deliveries: set[asyncio.Task[None]] = set()
        self._failures = 0  # consecutive failed deliveries: the backoff before a requeue
        self._state = "running"
        self._consumer: Consumer | None = None

    async def start(self, emit: Emit) -> None:
        self._emit = emit
        self._loop = asyncio.get_running_loop()
        parameters = connection_parameters(self.config, self.origin)
        self._consumer = Consumer(
            self.config, parameters, self._name, self._on_delivery, self._report
        )
        await self._consumer.open()

    async def stop(self) -> None:
        consumer = self._consumer
        if consumer is None:
            return
        self._stopping.set()
        if self._deliveries:
            _, late = await asyncio.wait(set(self._deliveries), timeout=self._stop_grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        await consumer.close(self._stop_grace + 10)
        self._consumer = None

    @property
    def _name(self) -> str:
        return f"{self.origin.gateway}/{self.origin.source}"

    def _report(self, state: str, reason: str) -> None:
        if state != self._state and not self._stopping.is_set():
            self._state = state
            self.context.on_status(self.origin, state, reason)

    def _on_delivery(self, delivery: Delivery) -> None:
        """On the pika thread; ``prefetch`` bounds how many are in flight."""
        if self._stopping.is_set():
            return  # left unacked: requeued when the connection closes
        with contextlib.suppress(RuntimeError):  # the loop closed under a late delivery
            self._loop.call_soon_threadsafe(self._spawn, delivery)

    def _spawn(self, delivery: Delivery) -> None:
        task = self._loop.create_task(self._deliver(delivery))
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    async def _deliver(self, delivery: Delivery) -> None:
        assert self._consumer is not None
        raw = raw_event(delivery.method, delivery.properties, delivery.body)
        try:
            await self._emit(raw)
        except Exception as exc:
            if self._stopping.is_set():
                return  # unacked: requeued when the connection closes
            if not self.config.requeue_on_failure:
                log.warning("amqp %s: delivery failed, dead-lettering: %s", self._name, exc)
                self._consumer.settle(delivery, "reject")
                return
            delay = self.config.backoff.delay(self._failures)
            self._failures += 1
            log.warning("amqp %s: delivery failed, requeueing in %.1fs: %s", self._name, delay, exc)
            await asyncio.sleep(delay)
            self._consumer.settle(delivery, "requeue")
            return
        self._failures = 0
        self._consumer.settle(delivery, "ack")


class _AMQPKind:
    name = "amqp"

    def create(self, origin: Origin, config: Any, context: SourceContext) -> AMQPSource:
        return AMQPSource(origin, config, context)


KIND = _AMQPKind()
