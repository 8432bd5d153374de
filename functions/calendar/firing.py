"""One round of firing a calendar source: claim it, load its state, emit every due tick, save.

The long-running scheduler and the cron-triggered function both fire through here. A tick is
saved only once its emit returned (delivered or dead-lettered); the first tick whose emit
fails ends the round, so it and every later tick stay due for the next round.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from functions.calendar.config import CalendarConfig
from functions.calendar.message import tick_event
from functions.calendar.state import StateStore, format_instant
from functions.calendar.ticks import Skipped, due_ticks
from gateways.source import Emit, Origin

log = logging.getLogger("functions.calendar")


@dataclass(frozen=True, slots=True)
class Firing:
    """What one round did for one source.

    ``error`` says why the round stopped early (the failed tick stays due); ``busy`` means
    another process holds the source's claim and fires it; ``state`` is the source's last
    handled tick after the round (None when unknown: busy, or the store failed).
    """

    fired: tuple[datetime, ...] = ()
    skipped: Skipped | None = None
    error: str | None = None
    busy: bool = False
    state: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


async def fire_due(
    config: CalendarConfig, origin: Origin, store: StateStore, emit: Emit, now: datetime
) -> Firing:
    """Fire every tick of ``origin`` due at ``now``; never raises for a failed emit or store."""
    round_ = _Round()
    try:
        async with store.claim(origin) as claimed:
            if not claimed:
                return Firing(busy=True)
            await round_.run(config, origin, store, emit, now)
    except Exception as exc:  # a failed emit or store must leave the tick due, whatever failed
        round_.error = f"tick {round_.at}: {exc}" if round_.at else f"state: {exc}"
        log.warning("calendar %s/%s: %s", origin.gateway, origin.source, round_.error)
    return Firing(tuple(round_.fired), round_.skipped, round_.error, state=round_.state)


@dataclass
class _Round:
    fired: list[datetime] = field(default_factory=list)
    skipped: Skipped | None = None
    error: str | None = None
    state: datetime | None = None
    at: str | None = None  # the tick being emitted, for the log

    async def run(
        self, config: CalendarConfig, origin: Origin, store: StateStore, emit: Emit, now: datetime
    ) -> None:
        self.state = await store.load(origin)
        due = due_ticks(config, self.state, now)
        self.skipped = due.skipped
        if due.skipped is not None:
            log.warning(
                "calendar %s/%s: skipped %d%s tick(s) from %s to %s, beyond the catch-up bound",
                origin.gateway,
                origin.source,
                due.skipped.count,
                "+" if due.skipped.more else "",
                format_instant(due.skipped.first),
                format_instant(due.skipped.last),
            )
            await self._save(store, origin, due.skipped.last)
        for tick in due.due:
            self.at = format_instant(tick)
            await emit(tick_event(config, tick))
            self.fired.append(tick)
            await self._save(store, origin, tick)
        self.at = None
        if due.cursor is not None:
            await self._save(store, origin, due.cursor)

    async def _save(self, store: StateStore, origin: Origin, tick: datetime) -> None:
        if self.state is None or tick > self.state:
            await store.save(origin, tick)
            self.state = tick
