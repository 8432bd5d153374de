"""The one bounded in-flight pool: at most ``GATEWAYS_MAX_IN_FLIGHT`` messages of a source are
being emitted at once, and on stop the ones in flight finish (or are cancelled after a grace).

A source takes work from its client only when the pool has room, which is the backpressure a
broker feels: unacknowledged messages stay with the broker, nothing queues without bound.
Blocking clients (their own I/O thread) submit with :meth:`InFlight.submit_from_thread`, which
blocks that thread while the pool is full, and otherwise hands the work over without waiting
for the event loop (one wake-up of the loop, no round trip per message).
"""

from __future__ import annotations

import asyncio
import logging
import threading
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
        self._room = threading.Semaphore(limit)  # the slots of work submitted from a thread
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
        """:meth:`submit` from a client's own thread (a pool takes work from threads or from
        the loop, not both): blocks that thread while the pool is full, then starts ``work``
        on ``loop`` without waiting. RuntimeError once the loop is closed (``work`` closed)."""
        while not self._room.acquire(timeout=0.5):
            if loop.is_closed():
                work.close()
                raise RuntimeError("the event loop is closed")
        try:
            loop.call_soon_threadsafe(self._start_from_thread, work)
        except RuntimeError:
            self._room.release()
            work.close()
            raise

    def _start_from_thread(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done_from_thread)

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
        self._slots.release()
        self._finished(task)

    def _done_from_thread(self, task: asyncio.Task[None]) -> None:
        self._room.release()
        self._finished(task)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s: message handler failed", self.label, exc_info=task.exception())
