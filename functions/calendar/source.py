"""The long-running calendar scheduler: the calendar kind's Source (embedded default).

On start it fires the ticks missed while it was down (within the catch-up bound), then sleeps
until each next tick and fires it. A tick whose emit fails is retried with backoff, and state
does not move past it; sub-minute intervals work here, unlike with a cron trigger.

That retry is part of the schedule, not a reconnect loop: there is no connection to supervise,
and every wait (tick or retry) is on the source's :class:`Clock`, which tests drive. The
kind's one declaration, ``KIND``, ends this module.

Handover: each tick is saved as soon as its emit returned, and ``stop`` lets a round in flight
finish (within ``stop_grace``) before it cancels, so the next owner of the source (another
replica, reading the same store) starts from the last tick delivered, not before it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from functions.calendar.config import CalendarConfig
from functions.calendar.firing import fire_due
from functions.calendar.state import FileStateStore, StateStore
from functions.calendar.ticks import ScheduleExhaustedError, next_tick
from gateways.config.common import Backoff
from gateways.kinds import SourceContext, SourceKind
from gateways.source import Emit, Origin

log = logging.getLogger("functions.calendar")
STATE_FILE = "calendar-state.json"
STATE = "calendar-state"  # the SourceContext resource: one state store per process
# Long sleeps are taken in slices, so a wall clock that jumps (NTP, suspend) is noticed.
MAX_SLEEP = 60.0
STOP_GRACE = 10.0  # seconds a round in flight gets to deliver and save its tick on stop
StatusCallback = Callable[[str, str], None]


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, aware."""

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class CalendarSource:
    """The calendar kind's source. ``store`` defaults to the process's one state store (see
    :func:`state_store_for`); ``clock`` and ``backoff`` are the tests' to drive;
    ``busy_retry``: seconds to wait while another process holds this source's claim;
    ``stop_grace``: how long ``stop`` waits for a round in flight."""

    def __init__(
        self,
        origin: Origin,
        config: CalendarConfig,
        context: SourceContext,
        *,
        store: StateStore | None = None,
        clock: Clock | None = None,
        backoff: Backoff | None = None,
        busy_retry: float = 1.0,
        stop_grace: float = STOP_GRACE,
    ) -> None:
        self.origin = origin
        self.config = config
        if store is None:
            store = context.resource(STATE, lambda: state_store_for(context.settings))
        self.store: StateStore = store
        self.clock = clock or SystemClock()
        self.backoff = backoff or Backoff()
        self.busy_retry = busy_retry
        self.stop_grace = stop_grace
        self.on_status: StatusCallback = lambda state, reason: context.on_status(
            origin, state, reason
        )
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._idle = asyncio.Event()  # set while no round is in flight
        self._idle.set()

    async def start(self, emit: Emit) -> None:
        label = f"calendar {self.origin.gateway}/{self.origin.source}"
        self._stopping = False
        self._task = asyncio.create_task(self._run(emit), name=label)

    async def stop(self) -> None:
        if self._task is not None:
            self._stopping = True
            # A round cancelled between its emit and its save would hand the next owner a
            # tick to repeat; it gets a grace to finish instead.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), self.stop_grace)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self, emit: Emit) -> None:
        failures = 0
        while not self._stopping:
            self._idle.clear()
            try:
                firing = await fire_due(
                    self.config, self.origin, self.store, emit, self.clock.now()
                )
            finally:
                self._idle.set()
            if self._stopping:
                return
            if firing.error is not None:
                delay = self.backoff.delay(min(failures, 30))  # 2.0**1024 overflows a float
                failures += 1
                self.on_status("degraded", f"{firing.error}; retrying in {delay:.1f}s")
                await self.clock.sleep(delay)
                continue
            if failures:
                failures = 0
                self.on_status("running", "")
            if firing.busy or firing.state is None:
                await self.clock.sleep(self.busy_retry)
                continue
            try:
                tick = next_tick(self.config, firing.state)
            except ScheduleExhaustedError as exc:
                log.warning(
                    "calendar %s/%s: %s; nothing more to fire",
                    self.origin.gateway,
                    self.origin.source,
                    exc,
                )
                self.on_status("failed", str(exc))
                return
            await self._sleep_until(tick)

    async def _sleep_until(self, moment: datetime) -> None:
        while (delay := (moment - self.clock.now()).total_seconds()) > 0:
            await self.clock.sleep(min(delay, MAX_SLEEP))


def state_store_for(settings: Any) -> StateStore:
    """ConfigMap state when the registry is ConfigMaps in a cluster (replicas share it), else
    ``<state_dir>/calendar-state.json``."""
    if getattr(settings, "configmaps", ()):
        from functions.calendar.kube_state import ConfigMapStateStore

        return ConfigMapStateStore.connect(settings.namespace)
    return FileStateStore(Path(settings.state_dir).expanduser() / STATE_FILE)


KIND = SourceKind(
    name="calendar",
    config=CalendarConfig,
    create=CalendarSource,
    served_by="calendar",
    exclusive=True,
)
