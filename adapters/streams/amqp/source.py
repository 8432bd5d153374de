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
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
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
from gateways.inflight import InFlight
from gateways.kinds import SourceContext, SourceKind
from gateways.source import Emit, Origin
from gateways.supervisor import PermanentError, Supervisor

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
        self._name = f"{origin.gateway}/{origin.source}"
        self._stop_grace = stop_grace
        self._stopping = threading.Event()  # read on the pika thread too
        self._failures = 0  # consecutive failed deliveries: the backoff before a requeue
        self._supervisor: Supervisor | None = None

    async def start(self, emit: Emit) -> None:
        """Returns once consuming, or after a first failure a retry may cure (the source is
        ``degraded`` and retries in the background); raises GatewayError when the broker
        refuses for good."""
        self._emit = emit
        self._loop = asyncio.get_running_loop()
        self._parameters = connection_parameters(self.config, self.origin)
        limit = min(self.context.max_in_flight, self.config.prefetch)
        self._pool = InFlight(limit, f"amqp {self._name}")
        self._supervisor = Supervisor(
            f"amqp {self._name}",
            self.config.backoff,
            self._session,
            self._report,
            describe=describe,
            where=redact_url(self.config.url),
        )
        try:
            await self._supervisor.start()  # PermanentError (a GatewayError) names the server
        except PermanentError:
            self._supervisor = None
            raise

    async def stop(self) -> None:
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is None:
            return
        self._stopping.set()
        await self._pool.drain(self._stop_grace)  # their acks go out on the open connection
        await supervisor.stop()  # closes it: the broker requeues whatever is not settled

    async def _session(self, connected: Callable[[], None]) -> str | None:
        connection = Connection(self.config, self._parameters, self._name, self._on_delivery)
        return await connection.run(connected)

    def _report(self, state: str, reason: str) -> None:
        if not self._stopping.is_set():
            self.context.on_status(self.origin, state, reason)

    def _on_delivery(self, delivery: Delivery) -> None:
        """On the pika thread: blocks it while the in-flight pool is full."""
        if self._stopping.is_set():
            return  # left unacked: requeued when the connection closes
        work = self._deliver(delivery)
        try:
            self._pool.submit_from_thread(self._loop, work)
        except (RuntimeError, concurrent.futures.CancelledError):  # the loop is shutting down
            work.close()  # left unacked: requeued when the connection closes

    async def _deliver(self, delivery: Delivery) -> None:
        if self._stopping.is_set():
            return  # taken while stopping: left unacked, requeued when the connection closes
        raw = raw_event(delivery.method, delivery.properties, delivery.body)
        try:
            await self._emit(raw)
        except Exception as exc:
            if self._stopping.is_set():
                return  # unacked: requeued when the connection closes
            if not self.config.requeue_on_failure:
                log.warning("amqp %s: delivery failed, dead-lettering: %s", self._name, exc)
                delivery.settle("reject")
                return
            delay = self.config.backoff.delay(self._failures)
            self._failures += 1
            log.warning("amqp %s: delivery failed, requeueing in %.1fs: %s", self._name, delay, exc)
            await asyncio.sleep(delay)
            delivery.settle("requeue")
            return
        self._failures = 0
        delivery.settle("ack")


KIND = SourceKind(name="amqp", config=AMQPConfig, create=AMQPSource)
