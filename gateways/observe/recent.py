"""A bounded record of what each source's events became: counts, a rate ring, the last events.

The dispatcher calls :meth:`Recorder.received` when an event comes in and
:meth:`Recorder.finished` (or :meth:`Recorder.failed`) once its delivery report is in. Both
are O(1) and keep references, not copies: the CloudEvent's attributes dict and the first
bytes of its data. Formatting happens only when someone asks (:mod:`gateways.observe.render`).
Memory is bounded: ``per_source`` entries for each of at most ``max_sources`` sources.

Every finished event gets a sequence number; a reader asks for the entries after the last one
it saw (:meth:`Recorder.since`) and may wait for more (:meth:`Recorder.wait`), which is how
the status page and ``gateways tail`` follow the stream.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gateways.delivery.report import DeliveryReport
from gateways.events.model import CloudEvent
from gateways.source import Origin

RECENT_PER_SOURCE = 50
MAX_SOURCES = 1024
DATA_KEPT = 512  # bytes of each event's data kept for display
RATE_STEP = 5  # seconds per rate bucket
RATE_BUCKETS = 60  # so the rate ring covers the last five minutes


@dataclass(frozen=True, slots=True)
class Entry:
    """One finished event. ``data`` is at most DATA_KEPT + 1 bytes (the +1 tells truncation);
    ``attributes`` is None when the CloudEvent could not be built, and ``error`` says why an
    event has no report."""

    seq: int
    finished: float  # wall-clock seconds
    origin: Origin
    attributes: Mapping[str, Any] | None
    data: bytes | None
    size: int
    report: DeliveryReport | None
    error: str | None = None


class SourceLog:
    """One source's counters, rate ring and recent entries."""

    __slots__ = (
        "_counts",
        "_stamps",
        "dead_lettered",
        "delivered",
        "dropped_seq",
        "failed",
        "last",
        "origin",
        "received",
        "recent",
    )

    def __init__(self, origin: Origin, per_source: int) -> None:
        self.origin = origin
        self.received = self.delivered = self.failed = self.dead_lettered = 0
        self.last = 0.0  # wall-clock time of the last event received, 0 before any
        self.recent: deque[Entry] = deque(maxlen=per_source)
        self.dropped_seq = 0  # the newest seq pushed out of ``recent``
        self._stamps = [-1] * RATE_BUCKETS
        self._counts = [0] * RATE_BUCKETS

    @property
    def in_flight(self) -> int:
        return self.received - self.delivered - self.failed - self.dead_lettered

    def count(self, now: float) -> None:
        self.received += 1
        self.last = now
        bucket = int(now // RATE_STEP)
        slot = bucket % RATE_BUCKETS
        if self._stamps[slot] != bucket:
            self._stamps[slot], self._counts[slot] = bucket, 0
        self._counts[slot] += 1

    def rate(self, now: float) -> list[int]:
        """Events received in each RATE_STEP of the last RATE_BUCKETS, oldest first; the last
        one is the step ``now`` is in."""
        newest = int(now // RATE_STEP)
        series = []
        for bucket in range(newest - RATE_BUCKETS + 1, newest + 1):
            slot = bucket % RATE_BUCKETS
            series.append(self._counts[slot] if self._stamps[slot] == bucket else 0)
        return series


class Recorder:
    def __init__(self, per_source: int = RECENT_PER_SOURCE, max_sources: int = MAX_SOURCES) -> None:
        self.per_source = per_source
        self.max_sources = max_sources
        self.seq = 0  # the newest entry's sequence number
        self.closed = False
        self._logs: dict[tuple[str, str], SourceLog] = {}
        self._wake: asyncio.Event | None = None

    def logs(self) -> list[SourceLog]:
        return list(self._logs.values())

    def log(self, gateway: str, source: str) -> SourceLog | None:
        return self._logs.get((gateway, source))

    def received(self, origin: Origin) -> SourceLog:
        """Count one event coming in from ``origin``; its log, to finish the event with."""
        key = (origin.gateway, origin.source)
        log = self._logs.get(key)
        if log is None:
            if len(self._logs) >= self.max_sources:  # the source seen first goes
                del self._logs[next(iter(self._logs))]
            log = self._logs[key] = SourceLog(origin, self.per_source)
        log.count(time.time())
        return log

    def finished(self, log: SourceLog, event: CloudEvent, report: DeliveryReport) -> None:
        if not report.ok:
            log.failed += 1
        elif report.dead_lettered:
            log.dead_lettered += 1
        else:
            log.delivered += 1
        self._push(log, event, report, None)

    def failed(self, log: SourceLog, event: CloudEvent | None, error: BaseException) -> None:
        """The event could not be built, or its gateway has no deliverer."""
        log.failed += 1
        self._push(log, event, None, str(error) or type(error).__name__)

    def _push(
        self,
        log: SourceLog,
        event: CloudEvent | None,
        report: DeliveryReport | None,
        error: str | None,
    ) -> None:
        self.seq += 1
        data = None if event is None else event.data
        entry = Entry(
            self.seq,
            time.time(),
            log.origin,
            None if event is None else event.attributes,
            None if data is None else data[: DATA_KEPT + 1],
            0 if data is None else len(data),
            report,
            error,
        )
        if len(log.recent) == log.recent.maxlen:
            log.dropped_seq = log.recent[0].seq
        log.recent.append(entry)
        if self._wake is not None:
            self._wake.set()
            self._wake = None

    def since(
        self, after: int, match: Callable[[Origin], bool], limit: int
    ) -> tuple[list[Entry], list[Origin]]:
        """The entries after ``after`` of the sources ``match`` accepts, in order (at most
        ``limit``: the oldest ones, so a reader that asks again from the last one misses
        nothing; with ``after`` 0, the newest ones), and the sources whose entries after
        ``after`` fell out of their ring before they were read."""
        found: list[Entry] = []
        gaps: list[Origin] = []
        for log in self._logs.values():
            if not match(log.origin):
                continue
            if after and log.dropped_seq > after:
                gaps.append(log.origin)
            for entry in reversed(log.recent):
                if entry.seq <= after:
                    break
                found.append(entry)
        found.sort(key=lambda entry: entry.seq)
        return (found[:limit] if after else found[-limit:]), gaps

    def forget(self, gateway: str) -> None:
        for key in [key for key in self._logs if key[0] == gateway]:
            del self._logs[key]

    async def wait(self, after: int, match: Callable[[Origin], bool], within: float) -> None:
        """Return once an entry after ``after`` of a matching source exists (or fell out of
        its ring), after ``within`` seconds, or once the recorder is closed."""
        deadline = time.monotonic() + within
        while not self.closed:
            entries, gaps = self.since(after, match, 1)
            if entries or gaps:
                return
            after = max(after, self.seq)  # nothing up to here matched: look only at newer ones
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            if self._wake is None:
                self._wake = asyncio.Event()
            try:
                await asyncio.wait_for(self._wake.wait(), remaining)
            except TimeoutError:
                return

    def close(self) -> None:
        """Wake every waiting reader and make later waits return at once (shutting down)."""
        self.closed = True
        if self._wake is not None:
            self._wake.set()
            self._wake = None
