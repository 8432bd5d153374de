"""The phases every path goes through, measured the same way, against one watcher.

Each phase publishes messages numbered in a range of its own and sets the watcher's window to
that range, so a late redelivery from an earlier phase never counts.

warm-up: one probe message every 0.25 s until the watcher got one (the path is consuming),
then 500 at once, all of which must arrive.
burst: ``messages`` published at once while the path consumes; events/s = distinct delivered /
(the watcher's last new receipt - the first publish); CPU = the path's processes' (and their
children's) user + system seconds from just before the first publish to when the watcher holds
all (broker, watcher and publisher are not counted).
latency: ``seconds`` of messages paced at half the burst's events/s; p50 and p99 of receipt minus
publish time, per distinct message.
sweep (optional): ``seconds`` at each offered load (a multiple of the broker's at-least-once
floor's events/s): delivered events/s (distinct / (last receipt - first publish)) and p99.
loss: 4 s paced at half the burst's events/s; 1 s in, the watcher answers 503 to everything for
2 s; lost = published - distinct delivered once the path drained (all arrived, or nothing new
for 8 s, at most 120 s).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.peers.cpu import cpu_seconds
from bench.streams.broker import Channel
from bench.streams.paths import Processes
from bench.streams.watcher import Stats, Watcher

SWEEP = (0.25, 0.5, 0.75, 1.0, 1.25)
WARM_UP = 500
LOSS_SECONDS, FAIL_AT, FAIL_FOR = 4.0, 1.0, 2.0
QUIET, LOSS_QUIET = 10.0, 8.0


class PathFailed(Exception):
    """The path did not deliver what a phase needs; the text says what happened."""


class NotConsuming(PathFailed):
    """Not one probe arrived: the path never started consuming."""


@dataclass(slots=True)
class Point:
    offered: float  # events/s published
    delivered: float  # events/s taken by the watcher
    p50_ms: float | None
    p99_ms: float | None
    published: int
    unique: int


@dataclass(slots=True)
class Result:
    path: str
    label: str
    note: str | None = None  # why a figure is missing
    burst: int = 0
    delivered: int = 0
    events_per_s: float | None = None
    cpu_seconds: float | None = None
    cpu_per_1000: float | None = None
    latency: Point | None = None
    lost: int | None = None
    loss_published: int = 0
    loss_refused: int = 0
    sweep: list[Point] = field(default_factory=list)


def percentile(values: Sequence[float], fraction: float) -> float | None:
    if not values:
        return None
    return values[min(len(values) - 1, int(len(values) * fraction))] * 1000.0


class Phases:
    def __init__(self, channel: Channel, watcher: Watcher, processes: Processes) -> None:
        self.channel = channel
        self.watcher = watcher
        self.processes = processes
        self._next = 0

    async def _window(self, count: int) -> int:
        first = self._next
        self._next += count + 1_000
        await self.watcher.reset(first, first + count)
        return first

    def _check_alive(self) -> None:
        for process in self.processes:
            if process.poll() is not None:
                raise PathFailed(f"{process.args!r} exited with {process.returncode}")

    async def _settle(self, count: int, quiet: float, bound: float) -> Stats:
        self._check_alive()
        stats = await self.watcher.settle(count, quiet, bound)
        self._check_alive()
        return stats

    async def warm_up(self, bound: float = 60.0) -> None:
        first = await self._window(10_000)
        deadline = time.monotonic() + bound
        probe = 0
        while (stats := await self.watcher.stats()).unique == 0:
            self._check_alive()
            if time.monotonic() > deadline:
                raise NotConsuming(
                    f"no probe message arrived within {bound:.0f} s "
                    f"({probe} published; the watcher got {stats.requests} requests)"
                )
            await self.channel.publish(first + probe, 1, None)
            probe += 1
            await asyncio.sleep(0.25)
        first = await self._window(WARM_UP)
        await self.channel.publish(first, WARM_UP, None)
        stats = await self._settle(WARM_UP, QUIET, 60)
        if stats.unique < WARM_UP:
            raise PathFailed(f"warm-up: {stats.unique} of {WARM_UP} arrived")

    async def burst(self, result: Result, count: int) -> None:
        first = await self._window(count)
        pids = [process.pid for process in self.processes]
        before = cpu_seconds(pids)
        started = await self.channel.publish(first, count, None)
        stats = await self._settle(count, QUIET, max(120.0, count / 100))
        used = cpu_seconds(pids) - before
        result.burst, result.delivered = count, stats.unique
        if not stats.unique or stats.last is None:
            raise PathFailed("nothing of the burst arrived")
        result.events_per_s = stats.unique / (stats.last - started)
        result.cpu_seconds = used
        result.cpu_per_1000 = used / stats.unique * 1000

    async def paced(self, rate: float, seconds: float, own_rate: float) -> Point:
        """``seconds`` of messages at ``rate``; waits as long as this path needs to drain them
        at its own ``own_rate`` (plus slack)."""
        count = max(1, int(rate * seconds))
        first = await self._window(count)
        started = await self.channel.publish(first, count, rate)
        stats = await self._settle(count, QUIET, count / max(own_rate / 2, 1.0) + 30)
        delivered = stats.unique / (stats.last - started) if stats.last else 0.0
        return Point(
            offered=rate,
            delivered=delivered,
            p50_ms=percentile(stats.latencies, 0.50),
            p99_ms=percentile(stats.latencies, 0.99),
            published=count,
            unique=stats.unique,
        )

    async def loss(self, result: Result, rate: float) -> None:
        count = max(1, int(rate * LOSS_SECONDS))
        first = await self._window(count)
        publishing = asyncio.create_task(self.channel.publish(first, count, rate))
        await asyncio.sleep(FAIL_AT)
        await self.watcher.fail(FAIL_FOR)
        await publishing
        stats = await self._settle(count, LOSS_QUIET, 120)
        result.lost, result.loss_published, result.loss_refused = (
            count - stats.unique,
            count,
            stats.refused,
        )


async def measure(
    phases: Phases,
    result: Result,
    messages: int,
    seconds: float,
    sweep: bool,
    sweep_base: float | None,
) -> None:
    """Runs every phase on a started path, filling ``result``. The sweep's loads are multiples
    of ``sweep_base`` (the at-least-once floor's events/s), or of the path's own without it."""
    await phases.warm_up()
    await phases.burst(result, messages)
    assert result.events_per_s is not None
    rate = result.events_per_s
    result.latency = await phases.paced(rate / 2, seconds, rate)
    if sweep:
        for factor in SWEEP:
            result.sweep.append(await phases.paced(factor * (sweep_base or rate), seconds, rate))
    await phases.loss(result, rate / 2)
