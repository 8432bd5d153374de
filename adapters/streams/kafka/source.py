"""Kafka sources: consumer groups, offsets committed only after delivery, order per partition.

Each partition has a lane (:mod:`.lane`) that delivers its records one at a time, so the offset
committed for a partition (the one after the last record its lane delivered) has everything
before it delivered too; partitions are delivered in parallel. A failed delivery rewinds the
partition to that record after the config's backoff: nothing is committed past it and nothing
is skipped. On a rebalance, a revoked partition finishes its delivery in progress and commits.
With ``partition`` (no group) that one partition is assigned and nothing is committed. The
consumer itself runs on its own thread (:mod:`.consumer`).
"""

from __future__ import annotations

from typing import Any

from adapters.streams.kafka.consumer import ConsumerThread
from adapters.streams.kafka.settings import consumer_settings
from gateways.config.kafka import KafkaConfig
from gateways.kinds import SourceContext
from gateways.source import Emit, Origin

LANE_LIMIT = 1000  # undelivered records a partition may hold before it is paused
STOP_GRACE = 5.0  # seconds a delivery in progress gets to finish on stop or revocation


class KafkaSource:
    def __init__(
        self,
        origin: Origin,
        config: KafkaConfig,
        context: SourceContext,
        *,
        lane_limit: int = LANE_LIMIT,
        stop_grace: float = STOP_GRACE,
    ) -> None:
        self.origin = origin
        self.config = config
        self.context = context
        self.address = f"{config.url} {','.join(config.topics)}"
        self._lane_limit = lane_limit
        self._stop_grace = stop_grace
        self._state = "running"
        self._stopping = False
        self._consumer: ConsumerThread | None = None

    async def start(self, emit: Emit) -> None:
        settings = consumer_settings(self.config, self.origin)
        name = f"{self.origin.gateway}/{self.origin.source}"
        self._consumer = ConsumerThread(
            self.config,
            settings,
            name,
            emit,
            self._report,
            lane_limit=self._lane_limit,
            grace=self._stop_grace,
        )
        await self._consumer.open()

    async def stop(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            self._stopping = True
            await consumer.close(self._stop_grace + 30)

    def _report(self, state: str, reason: str) -> None:
        if state != self._state and not self._stopping:
            self._state = state
            self.context.on_status(self.origin, state, reason)


class _KafkaKind:
    name = "kafka"

    def create(self, origin: Origin, config: Any, context: SourceContext) -> KafkaSource:
        return KafkaSource(origin, config, context)


KIND = _KafkaKind()
