"""The file source: a directory watched by watchdog, each change delivered at least once while
the adapter runs.

A change is handed to ``emit``; when ``emit`` raises (the dispatcher or a watcher refused), the
source retries that change with the config's ``backoff`` (``steps`` bounds the retries; 0 retries
until delivered or the source stops) before it takes the next change of the same name: the
changes of one name arrive in order, changes of different names concurrently, at most
``GATEWAYS_MAX_IN_FLIGHT`` at once (the core's :class:`InFlight` pool). Changes waiting for
delivery are held in memory, at most ``QUEUE_LIMIT`` of them; beyond that the observer's thread
waits (watchdog keeps the kernel's events meanwhile).

What a restart does: the filesystem keeps no cursor, so changes made while the adapter was down
(or still waiting in memory when it stopped or was killed) are not replayed. With
``emitExisting: true`` every start sends a CREATE for each matching file present, so files
created while the adapter was down (or whose CREATE was not yet delivered) arrive then; their
ids are deterministic, so a file unchanged since its first CREATE gets the same id again.
Writes, renames, removals and mode changes made while it was down are not recoverable.

The watch is one session of the core's :class:`Supervisor`: a directory that does not exist (yet)
or disappears is retried with ``backoff`` while the status says "degraded".
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
from collections import deque
from collections.abc import Callable
from typing import Any

from adapters.file.client import Watch
from adapters.file.config import FileConfig
from adapters.file.message import Change, raw_event
from gateways.inflight import InFlight
from gateways.kinds import SourceContext, SourceKind
from gateways.source import Origin
from gateways.supervised import SupervisedSource

log = logging.getLogger(__name__)
QUEUE_LIMIT = 10_000
CHECK_EVERY = 1.0  # seconds between checks that the directory and its watch are still there
PUT_WAIT = 0.5


class FileSource(SupervisedSource[FileConfig]):
    kind = "file"

    def __init__(self, origin: Origin, config: FileConfig, context: SourceContext) -> None:
        super().__init__(origin, config, context)
        self._pool = InFlight(context.max_in_flight, self.label)
        self._lanes: dict[str, deque[Change]] = {}

    @property
    def where(self) -> str:
        return self.config.directory

    async def session(self, connected: Callable[[], None]) -> str:
        """One watch: changes go to a bounded queue, the pump hands them to the pool."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Change] = asyncio.Queue(QUEUE_LIMIT)
        lost: asyncio.Future[str] = loop.create_future()
        closing = False

        def deliver(change: Change) -> None:  # on watchdog's thread; waits while the queue is full
            try:
                put = asyncio.run_coroutine_threadsafe(queue.put(change), loop)
            except RuntimeError:
                return  # the loop is closing
            while True:
                try:
                    put.result(PUT_WAIT)
                    return
                except concurrent.futures.TimeoutError:
                    if closing:  # the session ended: the change is not delivered
                        put.cancel()
                        return
                except concurrent.futures.CancelledError:
                    return

        def on_lost(reason: str) -> None:  # on watchdog's thread
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, lost, reason)

        watch = Watch(self.config, deliver, on_lost)
        await asyncio.to_thread(watch.start)
        pump = asyncio.create_task(self._pump(queue))
        try:
            if self.config.emit_existing:
                for change in await asyncio.to_thread(watch.existing):
                    await queue.put(change)
            connected()
            waiting: set[asyncio.Future[Any]] = {lost, pump}
            while True:
                await asyncio.wait(waiting, timeout=CHECK_EVERY)
                if lost.done():
                    return lost.result()
                if pump.done():
                    return f"delivery stopped: {pump.exception() or 'ended'}"
                if not await asyncio.to_thread(os.path.isdir, self.config.directory):
                    return f"directory: {self.config.directory} is gone"
                if not watch.alive:
                    return "the watch ended"
        finally:
            closing = True
            await asyncio.to_thread(watch.stop)
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
            await self._pool.drain(self.stop_grace)
            left = queue.qsize() + sum(len(lane) for lane in self._lanes.values())
            if left:
                log.warning("%s: %d change(s) not delivered (not replayed)", self.label, left)
            self._lanes.clear()

    async def _pump(self, queue: asyncio.Queue[Change]) -> None:
        """Each name's changes in one lane: one delivery at a time per name, in order."""
        while True:
            change = await queue.get()
            lane = self._lanes.get(change.key)
            if lane is not None:
                lane.append(change)
                continue
            lane = deque([change])
            self._lanes[change.key] = lane
            await self._pool.submit(self._run_lane(change.key, lane))

    async def _run_lane(self, key: str, lane: deque[Change]) -> None:
        try:
            while lane:
                await self._deliver(lane[0])
                lane.popleft()
        finally:
            if self._lanes.get(key) is lane and not lane:
                del self._lanes[key]

    async def _deliver(self, change: Change) -> None:
        raw = raw_event(change)
        attempt = 0
        while True:
            try:
                await self.emit(raw)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                attempt += 1
                if self.config.backoff.exhausted(attempt):
                    log.error(
                        "%s: %s %s not delivered after %d tries, dropped: %s",
                        self.label,
                        change.op,
                        change.name,
                        attempt,
                        exc,
                    )
                    return
                delay = self.config.backoff.delay(attempt - 1)
                log.warning(
                    "%s: %s %s not delivered (try %d), again in %.1fs: %s",
                    self.label,
                    change.op,
                    change.name,
                    attempt,
                    delay,
                    exc,
                )
                await asyncio.sleep(delay)


def _settle(future: asyncio.Future[str], reason: str) -> None:
    if not future.done():
        future.set_result(reason)


KIND = SourceKind(name="file", config=FileConfig, create=FileSource, exclusive=True)
