"""Kafka sources: consumer groups, offsets committed only after delivery, order per partition.

Each partition has a lane (:mod:`.lane`) that delivers its records one at a time, so the offset
committed for a partition (the one after the last record its lane delivered) has everything
before it delivered too; partitions are delivered in parallel, at most
``GATEWAYS_MAX_IN_FLIGHT`` records at once (the source's :class:`~gateways.inflight.InFlight`
pool). A failed delivery rewinds the partition to that record after the config's backoff:
nothing is committed past it and nothing is skipped. On a rebalance, a revoked partition
finishes its delivery in progress and commits. With ``partition`` (no group) that one
partition is assigned and nothing is committed.

The core's :class:`~gateways.supervisor.Supervisor` runs the consumer connection
(:mod:`.client`, one kafka-python consumer on its own thread per session): it reconnects with
the config's backoff when the brokers are gone and reports the state. A topic or partition that
does not exist fails the source for good.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adapters.streams.kafka.client import Connection, consumer_settings
from adapters.streams.kafka.config import KafkaConfig
from gateways.inflight import InFlight
from gateways.kinds import SourceContext, SourceKind
from gateways.source import Emit, Origin
from gateways.supervisor import PermanentError, Supervisor

STOP_GRACE = 5.0  # seconds a delivery in progress gets to finish on stop or revocation


class KafkaSource:
    def __init__(
        self,
        origin: Origin,
        config: KafkaConfig,
        context: SourceContext,
        *,
        stop_grace: float = STOP_GRACE,
    ) -> None:
        self.origin = origin
        self.config = config
        self.context = context
        self.address = f"{config.url} {','.join(config.topics)}"
        self._name = f"{origin.gateway}/{origin.source}"
        self._label = f"kafka {self._name}"
        self._stop_grace = stop_grace
        self._pool = InFlight(context.max_in_flight, self._label)
        self._positions: dict[Any, int] = {}  # a pinned partition's next offset, across sessions
        self._stopping = False
        self._supervisor: Supervisor | None = None

    async def start(self, emit: Emit) -> None:
        """Returns once polling, or after a first failure a retry may cure (the source is then
        degraded and reconnecting); raises GatewayError when a topic or the partition does not
        exist, or a TLS file or the SASL password cannot be read."""
        self._emit = emit
        self._settings = consumer_settings(self.config, self.origin)
        self._supervisor = Supervisor(
            self._label, self.config.backoff, self._session, self._report, where=self.config.url
        )
        try:
            await self._supervisor.start()  # PermanentError (a GatewayError) names the server
        except PermanentError:
            self._supervisor = None
            raise

    async def stop(self) -> None:
        """Finish the deliveries in progress, commit them, leave the group."""
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is None:
            return
        self._stopping = True
        await supervisor.stop()
        await self._pool.drain(self._stop_grace)  # nothing, unless a consumer thread hung

    async def _session(self, connected: Callable[[], None]) -> str | None:
        connection = Connection(
            self.config,
            self._settings,
            self._name,
            self._emit,
            self._pool,
            self._positions,
            grace=self._stop_grace,
        )
        return await connection.session(connected)

    def _report(self, state: str, reason: str) -> None:
        if not self._stopping:
            self.context.on_status(self.origin, state, reason)


KIND = SourceKind(name="kafka", config=KafkaConfig, create=KafkaSource)
