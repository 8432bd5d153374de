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
With ``format: s3`` each Kafka record is an S3 event notification: each of its records is emitted
as its own event (:func:`gateways.events.s3.per_record`), and the offset is committed once all
were delivered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adapters.streams.kafka.client import Connection, consumer_settings
from adapters.streams.kafka.config import KafkaConfig
from gateways.events.s3 import per_record
from gateways.inflight import InFlight
from gateways.kinds import SourceContext, SourceKind
from gateways.source import Emit, Origin
from gateways.supervised import SupervisedSource
from gateways.supervisor import Supervisor

STOP_GRACE = 5.0  # seconds a delivery in progress gets to finish on stop or revocation


class KafkaSource(SupervisedSource[KafkaConfig]):
    kind = "kafka"

    def __init__(
        self,
        origin: Origin,
        config: KafkaConfig,
        context: SourceContext,
        *,
        stop_grace: float = STOP_GRACE,
    ) -> None:
        super().__init__(origin, config, context, stop_grace=stop_grace)
        self.address = f"{config.url} {','.join(config.topics)}"
        self._name = f"{origin.gateway}/{origin.source}"
        self._pool = InFlight(context.max_in_flight, self.label)
        self._positions: dict[Any, int] = {}  # a pinned partition's next offset, across sessions

    @property
    def where(self) -> str:
        return self.config.url

    async def start(self, emit: Emit) -> None:
        if self.config.format == "s3":  # each record of a notification is its own event
            emit = per_record(emit, self.label)
        await super().start(emit)

    async def prepare(self) -> None:
        """A TLS file or the SASL password that cannot be read fails here, naming the field."""
        self._settings = consumer_settings(self.config, self.origin)

    async def session(self, connected: Callable[[], None]) -> str | None:
        connection = Connection(
            self.config,
            self._settings,
            self._name,
            self.emit,
            self._pool,
            self._positions,
            grace=self.stop_grace,
        )
        return await connection.session(connected)

    async def wind_down(self, supervisor: Supervisor) -> None:
        """Finish the deliveries in progress, commit them, leave the group."""
        await supervisor.stop()
        await self._pool.drain(self.stop_grace)  # nothing, unless a consumer thread hung


KIND = SourceKind(name="kafka", config=KafkaConfig, create=KafkaSource)
