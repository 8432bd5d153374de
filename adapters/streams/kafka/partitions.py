"""The lanes of the partitions a consumer holds: feeding, pausing, rewinding and committing.

A partition is paused while its lane holds ``GATEWAYS_MAX_IN_FLIGHT`` records it has not
delivered (the size of the source's in-flight pool), and resumed at half of that.

Everything here runs on the consumer thread, except ``revoked`` and ``assigned``: kafka-python
calls its rebalance listener inside ``poll``, on its own I/O thread in 3.x, where blocking
consumer calls are refused. So a revocation only closes the revoked lanes (a delivery in
progress finishes), commits their offsets asynchronously, remembers where each left off and
queues the partitions for the consumer thread to drop. An assignment seeks every partition
that comes back to where its lane left off: kafka-python 3 keeps the fetch position of a
partition that stays assigned (past records the closed lane never delivered), 2.x resets it
to the committed offset; either way the seek is the exact point.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import time
from typing import Any

from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from adapters.streams.kafka.lane import PartitionLane
from gateways.config.common import Backoff
from gateways.inflight import InFlight
from gateways.loopbridge import post
from gateways.source import Emit

log = logging.getLogger(__name__)


class Partitions:
    def __init__(
        self,
        emit: Emit,
        pool: InFlight,
        backoff: Backoff,
        name: str,
        loop: asyncio.AbstractEventLoop,
        *,
        grouped: bool,
        grace: float,
    ) -> None:
        self._emit = emit
        self._pool = pool
        self._backoff = backoff
        self._name = name
        self._loop = loop
        self._grouped = grouped
        self._lane_limit = pool.limit
        self._grace = grace
        self._lanes: dict[Any, PartitionLane] = {}
        self._paused: set[Any] = set()
        self._committed: dict[Any, int] = {}
        self._revoked: queue.SimpleQueue[Any] = queue.SimpleQueue()  # at most the assignment
        self._resume_at: dict[Any, int] = {}  # the listener's own

    def feed(self, batches: dict[Any, list[Any]]) -> None:
        for partition, records in batches.items():
            lane = self._lanes.get(partition)
            if lane is None or lane.closed:
                lane = PartitionLane(partition, self._emit, self._pool, self._backoff, self._name)
                self._lanes[partition] = lane
                post(self._loop, lane.start)
            if lane.first_fed is None:
                lane.first_fed = records[0].offset
            lane.fed += len(records)
            post(self._loop, lane.feed, records, lane.feed_epoch)

    def steer(self, consumer: Any) -> None:
        """Apply each lane's rewind, and pause or resume its partition."""
        now = time.monotonic()
        for partition, lane in self._lanes.items():
            if lane.closed:
                continue
            rewind = lane.rewind
            if rewind is not None and rewind[1] != lane.feed_epoch:
                with contextlib.suppress(ValueError, KafkaError):  # revoked meanwhile
                    consumer.seek(partition, rewind[0])
                lane.feed_epoch = rewind[1]
            holding = now < lane.hold_until
            if partition not in self._paused:
                if holding or lane.outstanding >= self._lane_limit:
                    consumer.pause(partition)
                    self._paused.add(partition)
            elif not holding and lane.outstanding <= self._lane_limit // 2:
                consumer.resume(partition)
                self._paused.discard(partition)

    def commit(self, consumer: Any, *, wait: bool = False) -> None:
        """Commit each held partition's delivered offset that is not committed yet."""
        offsets = {
            partition: OffsetAndMetadata(lane.delivered, "")
            for partition, lane in self._lanes.items()
            if lane.delivered is not None
            and lane.delivered != self._committed.get(partition)
            and (wait or not lane.closed)
        }
        if not offsets or not self._grouped:
            return
        try:
            if wait:
                consumer.commit(offsets, timeout_ms=int(self._grace * 1000))
            else:
                consumer.commit_async(offsets, callback=self._commit_answered)
        except KafkaError as exc:
            log.warning("kafka %s: commit failed (redelivered later): %s", self._name, exc)
            return
        self._committed.update({p: meta.offset for p, meta in offsets.items()})

    def close(self, consumer: Any, *, commit: bool) -> dict[Any, int]:
        """When the connection ends: finish the deliveries in progress and (with ``commit``,
        while the broker is there) commit them. Returns where each partition left off."""
        self.forget_revoked(consumer)  # what is left is still assigned
        lanes = [lane for lane in self._lanes.values() if not lane.closed]
        self._close_lanes(lanes)
        if commit:
            self.commit(consumer, wait=True)
        return {
            lane.partition: lane.resume_point for lane in lanes if lane.resume_point is not None
        }

    # ---------------------------------------------------------------- rebalance listener

    def revoked(self, consumer: Any, partitions: list[Any]) -> None:
        lanes = [lane for p in partitions if (lane := self._lanes.get(p)) and not lane.closed]
        self._close_lanes(lanes)
        offsets = {}
        for lane in lanes:
            if lane.resume_point is not None:
                self._resume_at[lane.partition] = lane.resume_point
            if lane.delivered is not None:
                offsets[lane.partition] = OffsetAndMetadata(lane.delivered, "")
        if offsets and self._grouped:
            with contextlib.suppress(KafkaError):
                consumer.commit_async(offsets, callback=self._commit_answered)
        for partition in partitions:
            self._revoked.put(partition)

    def assigned(self, consumer: Any, partitions: list[Any]) -> None:
        for partition in partitions:
            offset = self._resume_at.get(partition)
            if offset is not None:
                with contextlib.suppress(ValueError, KafkaError):
                    consumer.seek(partition, offset)
        self._resume_at.clear()

    # ---------------------------------------------------------------- consumer thread

    def forget_revoked(self, consumer: Any) -> None:
        while not self._revoked.empty():
            partition = self._revoked.get()
            lane = self._lanes.get(partition)
            if lane is not None and lane.closed:
                del self._lanes[partition]
            self._committed.pop(partition, None)
            if partition in self._paused:  # assigned again, it starts unpaused
                self._paused.discard(partition)
                with contextlib.suppress(Exception):
                    consumer.resume(partition)

    def _close_lanes(self, lanes: list[PartitionLane]) -> None:
        if not lanes:
            return
        closing = asyncio.run_coroutine_threadsafe(_close_all(lanes, self._grace), self._loop)
        with contextlib.suppress(Exception):
            closing.result(timeout=self._grace + 5)

    def _commit_answered(self, offsets: dict[Any, Any], response: Any) -> None:
        if isinstance(response, Exception):
            log.warning("kafka %s: commit of %s failed: %s", self._name, offsets, response)
            for partition, meta in offsets.items():  # so the next commit() sends it again
                if self._committed.get(partition) == meta.offset:
                    self._committed.pop(partition, None)


async def _close_all(lanes: list[PartitionLane], grace: float) -> None:
    await asyncio.gather(*(lane.close(grace) for lane in lanes))
