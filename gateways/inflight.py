"""The one bounded in-flight pool: at most ``GATEWAYS_MAX_IN_FLIGHT`` messages of a source are
being emitted at once, and on stop the ones in flight finish (or are cancelled after a grace).

A source takes work from its client only when the pool has room, which is the backpressure a
broker feels: unacknowledged messages stay with the broker, nothing queues without bound.
Blocking clients (their own I/O thread) submit with :meth:`InFlight.submit_from_thread`, which
blocks that thread while the pool is full.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)
DRAIN_GRACE = 10.0


class InFlight:
    def __init__(self, limit: int, label: str = "") -> None:
        if limit < 1:
            raise ValueError("an in-flight pool needs room for at least one message")
        self.limit = limit
        self.label = label
        self._slots = asyncio.Semaphore(limit)
        self._tasks: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    @property
    def free(self) -> int:
        """Slots free now: a source may take this many messages without waiting."""
        return self.limit - len(self._tasks)

    async def room(self) -> None:
        """Wait until at least one slot is free (without taking it)."""
        await self._slots.acquire()
        self._slots.release()

    async def submit(self, work: Coroutine[Any, Any, None]) -> None:
        """Wait for a slot, then run ``work`` in a task of its own; returns once it started.

        ``work`` handles its own outcome (ack or nack); an exception it lets escape is logged.
        """
        try:
            await self._slots.acquire()
        except BaseException:
            work.close()
            raise
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def submit_from_thread(
        self, loop: asyncio.AbstractEventLoop, work: Coroutine[Any, Any, None]
    ) -> None:
        """:meth:`submit` from a client's own thread; blocks that thread while the pool is full."""
        asyncio.run_coroutine_threadsafe(self.submit(work), loop).result()

    async def drain(self, grace: float = DRAIN_GRACE) -> None:
        """Let the work in flight finish for up to ``grace`` seconds, then cancel the rest."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace)
        if self._tasks:
            log.warning("%s: cancelling %d message(s) still in flight", self.label, len(self))
            for task in list(self._tasks):
                task.cancel()
            await asyncio.wait(set(self._tasks), timeout=1.0)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slots.release()
        if not task.cancelled() and task.exception() is not None:
            log.error("%s: message handler failed", self.label, exc_info=task.exception())
