"""AMQP sources: each delivery acked only after ``emit`` returned, nacked by policy when it fails.

The connection is supervised (:class:`gateways.supervisor.Supervisor`): each session is one
pika connection on its thread (:mod:`.connection`); a lost one is re-established with the
config's backoff, and what it had not acked the broker delivers again
(``amqpredelivered: true``). Access refused, or an exchange or queue declared differently on
the broker, fails the source for good.

The deliveries being emitted are bounded by an in-flight pool of ``min(GATEWAYS_MAX_IN_FLIGHT,
prefetch)`` (``prefetch`` is the broker's own bound, basic.qos). A delivery whose ``emit`` fails
is nacked as ``onFailure`` says: requeued after the config's backoff (so a failing watcher is
not hammered), or rejected, which sends it to the queue's ``x-dead-letter-exchange``.
With ``format: s3`` each message is an S3 event notification: every record is emitted as its own
event (:func:`gateways.events.s3.per_record`), and the message is acked once all were delivered.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Callable

from adapters.streams.amqp.config import AMQPConfig
from adapters.streams.amqp.connection import (
    Connection,
    Delivery,
    connection_parameters,
    describe,
)
from adapters.streams.amqp.message import raw_event
from gateways.config.common import redact_url
from gateways.events.s3 import per_record
from gateways.inflight import InFlight
from gateways.kinds import SourceContext, SourceKind
from gateways.source import Emit, Origin
from gateways.supervised import STOP_GRACE, SupervisedSource
from gateways.supervisor import Supervisor

log = logging.getLogger(__name__)


class AMQPSource(SupervisedSource[AMQPConfig]):
    kind = "amqp"

    def __init__(
        self,
        origin: Origin,
        config: AMQPConfig,
        context: SourceContext,
        *,
        stop_grace: float = STOP_GRACE,
    ) -> None:
        super().__init__(origin, config, context, stop_grace=stop_grace)
        where = (redact_url(config.url), config.exchange_name, config.routing_key)
        self.address = " ".join(part for part in where if part)
        self._name = f"{origin.gateway}/{origin.source}"
        self._failures = 0  # consecutive failed deliveries: the backoff before a requeue
        self._pool = InFlight(min(context.max_in_flight, config.prefetch), self.label)

    @property
    def where(self) -> str:
        return redact_url(self.config.url)

    def describe(self, exc: BaseException) -> str:
        return describe(exc)

    async def start(self, emit: Emit) -> None:
        if self.config.format == "s3":  # each record of a notification is its own event
            emit = per_record(emit, self.label)
        await super().start(emit)

    async def prepare(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._parameters = connection_parameters(self.config, self.origin)

    async def session(self, connected: Callable[[], None]) -> str | None:
        connection = Connection(self.config, self._parameters, self._name, self._on_delivery)
        return await connection.run(connected)

    async def wind_down(self, supervisor: Supervisor) -> None:
        await self._pool.drain(self.stop_grace)  # their acks go out on the open connection
        await supervisor.stop()  # closes it: the broker requeues whatever is not settled

    def _on_delivery(self, delivery: Delivery) -> None:
        """On the pika thread: blocks it while the in-flight pool is full."""
        if self.stopping:
            return  # left unacked: requeued when the connection closes
        work = self._deliver(delivery)
        try:
            self._pool.submit_from_thread(self._loop, work)
        except (RuntimeError, concurrent.futures.CancelledError):  # the loop is shutting down
            work.close()  # left unacked: requeued when the connection closes

    async def _deliver(self, delivery: Delivery) -> None:
        if self.stopping:
            return  # taken while stopping: left unacked, requeued when the connection closes
        raw = raw_event(delivery.method, delivery.properties, delivery.body)
        try:
            await self.emit(raw)
        except Exception as exc:
            if self.stopping:
                return  # unacked: requeued when the connection closes
            if not self.config.requeue_on_failure:
                log.warning("%s: delivery failed, dead-lettering: %s", self.label, exc)
                delivery.settle("reject")
                return
            delay = self.config.backoff.delay(self._failures)
            self._failures += 1
            log.warning("%s: delivery failed, requeueing in %.1fs: %s", self.label, delay, exc)
            await asyncio.sleep(delay)
            delivery.settle("requeue")
            return
        self._failures = 0
        delivery.settle("ack")


KIND = SourceKind(name="amqp", config=AMQPConfig, create=AMQPSource)
