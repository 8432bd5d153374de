"""One partition's records, delivered in order and one at a time, rewound on a failed delivery.

A lane lives in asyncio; the consumer thread feeds it and reads its progress. Each shared field
has one writer: the consumer thread writes ``fed``, ``first_fed`` and ``feed_epoch``; the lane
writes ``done``, ``delivered``, ``next_offset``, ``rewind`` and ``hold_until``. On a failed
delivery the lane drops what it holds, starts a new epoch and asks the consumer thread
(``rewind``) to seek back to the failed record and to pause the partition for the backoff
(``hold_until``). Batches fetched before the seek still carry the old epoch and are dropped, so
no record is ever skipped.

Each delivery takes a slot of the source's in-flight pool (:class:`gateways.inflight.InFlight`),
so at most ``GATEWAYS_MAX_IN_FLIGHT`` records of a source are being emitted at once, however
many partitions it holds; within a partition the next record waits for the one before it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import Any

from adapters.streams.kafka.message import raw_event
from gateways.config.common import Backoff
from gateways.inflight import InFlight
from gateways.loopbridge import settle
from gateways.source import Emit

log = logging.getLogger(__name__)


class PartitionLane:
    def __init__(
        self, partition: Any, emit: Emit, pool: InFlight, backoff: Backoff, name: str
    ) -> None:
        self.partition = partition
        self.fed = 0  # records handed to the lane (consumer thread)
        self.feed_epoch = 0  # the epoch the consumer thread stamps on batches
        self.first_fed: int | None = None  # offset of the first record handed over
        self.done = 0  # records delivered or dropped (lane)
        self.delivered: int | None = None  # the offset to commit: last delivered + 1
        self.next_offset: int | None = None  # where the next delivery starts (after a rewind too)
        self.rewind: tuple[int, int] | None = None  # (offset to seek to, new epoch)
        self.hold_until = 0.0  # time.monotonic() until which the partition stays paused
        self._emit = emit
        self._pool = pool
        self._backoff = backoff
        self._name = name
        self._epoch = 0
        self._failures = 0
        self._records: deque[Any] = deque()
        self._wakeup = asyncio.Event()
        self._closed = False
        self._task: asyncio.Task[None] | None = None

    @property
    def outstanding(self) -> int:
        return self.fed - self.done

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def resume_point(self) -> int | None:
        """The first offset not delivered, once the lane is closed (None: nothing was fed)."""
        return self.next_offset if self.next_offset is not None else self.first_fed

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    def feed(self, records: list[Any], epoch: int) -> None:
        if self._closed or epoch != self._epoch:
            self.done += len(records)  # fetched before a rewind (or after close): dropped
            return
        self._records.extend(records)
        self._wakeup.set()

    async def close(self, grace: float) -> int | None:
        """Stop taking records; let a delivery in progress finish (up to ``grace`` seconds).
        Returns the offset to commit."""
        self._closed = True
        self._drop()
        self._wakeup.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), grace)
            except TimeoutError:
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)
        return self.delivered

    async def _run(self) -> None:
        while not self._closed:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._records and not self._closed:
                record = self._records[0]
                try:
                    await self._deliver(record)
                except Exception as exc:
                    if not self._closed:
                        self._fail(record, exc)
                    break
                self.delivered = self.next_offset = record.offset + 1
                self._failures = 0
                if self._records and self._records[0] is record:
                    self._records.popleft()
                    self.done += 1

    async def _deliver(self, record: Any) -> None:
        """Emit ``record`` in a slot of the pool; returns once delivered, raises what ``emit``
        raised. Cancelled (a close past its grace), the emit is cancelled too."""
        outcome: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self._pool.submit(self._emit_into(record, outcome))
        await outcome

    async def _emit_into(self, record: Any, outcome: asyncio.Future[None]) -> None:
        task = asyncio.current_task()
        if task is not None:
            outcome.add_done_callback(lambda done: task.cancel() if done.cancelled() else None)
        try:
            await self._emit(raw_event(record))
        except asyncio.CancelledError:
            outcome.cancel()
            raise
        except Exception as exc:
            settle(outcome, error=exc)
        else:
            settle(outcome)

    def _fail(self, record: Any, exc: Exception) -> None:
        self._drop()
        self._epoch += 1
        delay = self._backoff.delay(self._failures)
        self._failures += 1
        self.hold_until = time.monotonic() + delay
        self.next_offset = record.offset
        self.rewind = (record.offset, self._epoch)  # after hold_until: the thread reads it first
        log.warning(
            "kafka %s: delivery of %s/%s/%s failed, retrying from there in %.1fs: %s",
            self._name,
            record.topic,
            record.partition,
            record.offset,
            delay,
            exc,
        )

    def _drop(self) -> None:
        self.done += len(self._records)
        self._records.clear()
