"""Test doubles for the calendar function: a clock the test drives, and a recording emit."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from datetime import datetime, timedelta
from typing import Any

from functions.calendar.config import CalendarConfig
from gateways.config import parse_source
from gateways.errors import DeliveryError
from gateways.source import RawEvent

SETTLE_TIMEOUT = 2.0


def calendar(**fields: Any) -> CalendarConfig:
    """A validated calendar config from its YAML field names."""
    config = parse_source("calendar", "test", fields)
    assert isinstance(config, CalendarConfig)
    return config


class FakeClock:
    """``now()`` stands still until the test calls ``advance``, which wakes each sleeper at its
    own deadline in order and waits until the code under test sleeps again."""

    def __init__(self, start: datetime) -> None:
        self.current = start
        self.sleeps: list[float] = []
        self._sleepers: list[tuple[datetime, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def now(self) -> datetime:
        return self.current

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        deadline = self.current + timedelta(seconds=max(seconds, 0.0))
        heapq.heappush(self._sleepers, (deadline, next(self._order), future))
        await future

    @property
    def sleeping(self) -> int:
        return sum(1 for _, _, future in self._sleepers if not future.done())

    async def idle(self, sleepers: int = 1) -> None:
        """Wait until ``sleepers`` coroutines sleep on this clock (the code under test is idle)."""
        async with asyncio.timeout(SETTLE_TIMEOUT):
            while self.sleeping < sleepers:
                await asyncio.sleep(0.001)

    async def advance(self, seconds: float, *, settle: bool = True) -> None:
        """Move time on by ``seconds``; with ``settle``, wait for each woken one to sleep again."""
        target = self.current + timedelta(seconds=seconds)
        while self._sleepers and self._sleepers[0][0] <= target:
            deadline, _, future = heapq.heappop(self._sleepers)
            if future.done():
                continue
            waiting = self.sleeping
            self.current = max(self.current, deadline)
            future.set_result(None)
            if settle:
                await self.idle(waiting + 1)
        self.current = target


class RecordingEmit:
    """An ``emit`` that records raw events; ``fail(n)`` makes the next n calls fail delivery."""

    def __init__(self) -> None:
        self.events: list[RawEvent] = []
        self.attempts: list[str] = []
        self._failures = 0

    def fail(self, times: int) -> None:
        self._failures = times

    async def __call__(self, raw: RawEvent) -> None:
        self.attempts.append(raw.id or "")
        if self._failures:
            self._failures -= 1
            raise DeliveryError(raw.id or "", ["http://watcher.test/: HTTP 503"])
        self.events.append(raw)

    @property
    def ids(self) -> list[str]:
        return [raw.id or "" for raw in self.events]
