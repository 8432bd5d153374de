"""Calendar tick arithmetic: which instants a source fires at, and which are due. No clock inside.

Every instant in and out is an aware datetime; results are in UTC.

- A cron ``schedule`` is evaluated in the source's ``timezone`` with the DST semantics of
  :mod:`functions.calendar.cron` (cronie's).
- An ``interval`` is real elapsed time, anchored at the source's first start or its last
  handled tick: ticks fall on ``anchor + n * interval``.
- A tick whose local date is in ``exclusion_dates`` (or a ``recurrence`` EXDATE) does not
  fire, but is handled all the same: the source's state moves past it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import takewhile

from functions.calendar.config import CalendarConfig
from functions.calendar.cron import ZonedCron
from gateways.errors import GatewayError

# Catch-up after a long outage counts the skipped ticks one by one up to this many, then
# passes over the rest of the outage uncounted (see Skipped.more).
SCAN_LIMIT = 10_000
_TINY = timedelta(microseconds=1)


class ScheduleExhaustedError(GatewayError):
    """The schedule has no tick after ``after`` (a cron date that never occurs, say)."""

    def __init__(self, after: datetime) -> None:
        self.after = after
        super().__init__(f"the schedule has no tick after {after.isoformat()}")


@dataclass(frozen=True, slots=True)
class Skipped:
    """Ticks beyond the catch-up bound: not fired, only reported.

    ``count`` ticks from ``first`` to ``last``; when ``more`` is set, the outage was longer
    still and further ticks after ``last`` were passed over without being counted.
    """

    count: int
    first: datetime
    last: datetime
    more: bool = False


@dataclass(frozen=True, slots=True)
class DueTicks:
    """What to do after ``last_fired``, seen at ``now``.

    Fire ``due`` in order (oldest first), saving each tick once its emit succeeded; ``skipped``
    may be saved first as handled (``skipped.last``); once every due tick fired, ``cursor``
    (an instant through which every tick is handled) is the state to save. A source never
    fired before gets no ticks and ``cursor`` = now: it starts from now, firing nothing old.
    """

    due: tuple[datetime, ...] = ()
    skipped: Skipped | None = None
    cursor: datetime | None = None


def schedule_label(config: CalendarConfig) -> str:
    """The schedule as users write it: the cron expression, or ``@every <Go duration>``."""
    if config.schedule is not None:
        return config.schedule
    assert config.interval is not None
    return f"@every {go_duration(config.interval)}"


def next_tick(config: CalendarConfig, after: datetime) -> datetime:
    """The first tick that fires strictly after ``after`` (for an interval: ``after`` is the
    anchor, so this is ``after + interval`` unless excluded). Raises ScheduleExhaustedError."""
    for tick in firing_ticks(config, after, after):
        return tick
    raise ScheduleExhaustedError(after)


def due_ticks(config: CalendarConfig, last_fired: datetime | None, now: datetime) -> DueTicks:
    """The ticks that fell due in ``(last_fired, now]``, bounded by ``config.catch_up``.

    Of those, at most ``max_ticks`` (1 with catch-up disabled: a late trigger still fires
    the current tick, nothing older), none older than ``now - max_duration``, newest last,
    are due; the others are skipped. Excluded ticks are neither.
    """
    now = now.astimezone(UTC)
    if last_fired is None:
        return DueTicks(cursor=now)
    last_fired = last_fired.astimezone(UTC)
    if now <= last_fired:
        return DueTicks()
    limit = config.catch_up.max_ticks if config.catch_up.enabled else 1
    oldest = now - config.catch_up.max_duration
    kept: deque[datetime] = deque()
    tally = _Tally()

    def keep(tick: datetime) -> None:
        kept.append(tick)
        if len(kept) > limit:
            tally.add(kept.popleft())

    for tick in takewhile(lambda t: t <= now, firing_ticks(config, last_fired, last_fired)):
        if tick > oldest:
            keep(tick)
            continue
        tally.add(tick)
        if tally.count == SCAN_LIMIT:  # an outage this long is not counted to its end
            tally.more = True
            for later in takewhile(lambda t: t <= now, firing_ticks(config, last_fired, oldest)):
                keep(later)
            break
    return DueTicks(tuple(kept), tally.skipped(), _cursor(config, last_fired, now))


def firing_ticks(config: CalendarConfig, anchor: datetime, after: datetime) -> Iterator[datetime]:
    """The ticks strictly after ``after`` that fire (excluded dates left out), ascending.

    ``anchor`` places an interval's ticks; a cron schedule ignores it.
    """
    ticks = _schedule_ticks(config, anchor, after)
    if not config.exclusion_dates:
        yield from ticks
        return
    zone = config.zone
    while True:
        for tick in ticks:
            day = tick.astimezone(zone).date()
            if day not in config.exclusion_dates:
                yield tick
                continue
            # Jump to the next day that is not excluded rather than visit every tick of the day.
            while day in config.exclusion_dates:
                day += timedelta(days=1)
            ticks = _schedule_ticks(config, anchor, max(tick, _start_of(day, config) - _TINY))
            break
        else:
            return


def go_duration(duration: timedelta) -> str:
    """``duration`` written as Go's time.Duration prints it (``200ms``, ``1m30s``, ``1h0m0s``)."""
    micros = duration // timedelta(microseconds=1)
    if micros < 1_000_000:
        return f"{micros // 1000}ms" if micros % 1000 == 0 else f"{micros}µs"
    hours, rest = divmod(micros, 3_600_000_000)
    minutes, rest = divmod(rest, 60_000_000)
    seconds = f"{rest / 1_000_000:.6f}".rstrip("0").rstrip(".")
    if hours:
        return f"{hours}h{minutes}m{seconds}s"
    return f"{minutes}m{seconds}s" if minutes else f"{seconds}s"


def _schedule_ticks(
    config: CalendarConfig, anchor: datetime, after: datetime
) -> Iterator[datetime]:
    if config.schedule is not None:
        return ZonedCron(config.schedule, config.zone).ticks_after(after)
    assert config.interval is not None
    return _interval_ticks(anchor.astimezone(UTC), config.interval, after.astimezone(UTC))


def _interval_ticks(anchor: datetime, step: timedelta, after: datetime) -> Iterator[datetime]:
    index = (after - anchor) // step + 1
    while True:
        yield anchor + index * step
        index += 1


def _cursor(config: CalendarConfig, last_fired: datetime, now: datetime) -> datetime:
    """Where state may move once every due tick fired: an interval's newest tick <= now (its
    ticks stay on their grid), or ``now`` itself for a cron schedule."""
    if config.interval is None:
        return now
    return last_fired + ((now - last_fired) // config.interval) * config.interval


def _start_of(day: date, config: CalendarConfig) -> datetime:
    """The first instant of local ``day`` (when midnight is skipped, the end of the gap)."""
    return datetime.combine(day, time(), tzinfo=config.zone).astimezone(UTC)


class _Tally:
    def __init__(self) -> None:
        self.count = 0
        self.first: datetime | None = None
        self.last: datetime | None = None
        self.more = False

    def add(self, tick: datetime) -> None:
        self.count += 1
        self.first = self.first or tick
        self.last = tick

    def skipped(self) -> Skipped | None:
        if self.first is None or self.last is None:
            return None
        return Skipped(self.count, self.first, self.last, self.more)
