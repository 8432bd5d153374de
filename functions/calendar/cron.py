"""A 5-field cron schedule evaluated on the wall clock of an IANA timezone, DST-correct.

croniter alone is not: given aware datetimes it returns instants out of order or repeats one
across a transition. Here croniter only enumerates naive wall-clock matches, and this module
walks real time in spans of constant UTC offset, mapping each match to its instant.

DST semantics follow Vixie cron / cronie (``man 8 cron``):

- A *wildcard* schedule, whose minute or hour field starts with ``*`` (``0 * * * *``,
  ``*/30 * * * *``), fires at every real instant whose local wall clock matches: a skipped
  hour has no ticks and a repeated hour has ticks in both passes, so an hourly schedule
  fires once per real hour.
- Any other (*fixed-time*) schedule fires once per matching local time: a time inside a
  spring-forward gap fires at the first instant after the gap (``30 2 * * *`` on 2026-03-08
  in America/New_York fires at 03:00 EDT, 07:00Z); a time that happens twice fires at its
  first occurrence only (``30 1 * * *`` on 2026-11-01 fires at 01:30 EDT, 05:30Z).

robfig/cron (and so Kubernetes CronJob) instead skips the gap and fires twice in the
repeated hour; cronie's choice keeps a daily job to exactly one run per local day.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import CroniterBadDateError, croniter

# Offset changes are found by probing at this step, so two transitions closer together than
# this would go unseen; tzdata has none (DST rules keep transitions months apart).
_PROBE = timedelta(hours=6)
# Spans without a transition are cut at this length; any cut is harmless.
_HORIZON = timedelta(days=7)
_TINY = timedelta(microseconds=1)


class ZonedCron:
    """``expression`` (5 fields, descriptors already expanded) on the clock of ``zone``."""

    def __init__(self, expression: str, zone: ZoneInfo) -> None:
        self.expression = expression
        self.zone = zone
        minute, hour = expression.split()[:2]
        self.wildcard = minute.startswith("*") or hour.startswith("*")

    def ticks_after(self, after: datetime) -> Iterator[datetime]:
        """Every tick strictly after ``after``, ascending, as aware UTC datetimes.

        Ends only when the expression can never match again (``0 0 30 2 *``).
        """
        after = after.astimezone(UTC)
        # Fixed-time dedup: local times below ``passed`` were already passed at instants <= after.
        passed = _wall(after, _offset(self.zone, after)) + _TINY
        if not self.wildcard:
            passed = self._passed_wall(after, passed)
        previous_offset: timedelta | None = None
        for begin, end, offset in _spans(self.zone, after):
            first_wall, end_wall = _wall(begin, offset), _wall(end, offset)
            gap_tick: datetime | None = None
            if previous_offset is not None and offset > previous_offset and not self.wildcard:
                gap_start = _wall(begin, previous_offset)
                if self._first_match(gap_start, first_wall) is not None:
                    gap_tick = begin
                    yield begin
            lowest = (
                first_wall
                if self.wildcard and previous_offset is not None
                else max(first_wall, passed)
            )
            matches = croniter(self.expression, lowest - _TINY)
            while True:
                try:
                    wall: datetime = matches.get_next(datetime)
                except CroniterBadDateError:
                    return
                if wall >= end_wall:
                    break
                tick = (wall - offset).replace(tzinfo=UTC)
                if tick != gap_tick:
                    yield tick
            passed = max(passed, end_wall)
            previous_offset = offset

    def _first_match(self, lowest: datetime, below: datetime) -> datetime | None:
        """The first naive wall time in [lowest, below) that matches, if any."""
        try:
            match: datetime = croniter(self.expression, lowest - _TINY).get_next(datetime)
        except CroniterBadDateError:
            return None
        return match if match < below else None

    def _passed_wall(self, after: datetime, passed: datetime) -> datetime:
        """Raise ``passed`` to the top of a repeated hour that ``after`` is in the second pass
        of: those local times already fired in the first pass."""
        for _begin, end, offset in _spans(self.zone, after - timedelta(days=1)):
            if end > after:
                break
            passed = max(passed, _wall(end, offset))
        return passed


def _spans(zone: ZoneInfo, start: datetime) -> Iterator[tuple[datetime, datetime, timedelta]]:
    """Consecutive spans ``[begin, end)`` of constant UTC offset from ``start`` on, for ever."""
    begin = start
    while True:
        offset = _offset(zone, begin)
        end = _next_change(zone, begin, offset) or begin + _HORIZON
        yield begin, end, offset
        begin = end


def _next_change(zone: ZoneInfo, start: datetime, offset: timedelta) -> datetime | None:
    """The first instant in (start, start + horizon] whose offset is not ``offset``."""
    low = start
    limit = start + _HORIZON
    while low < limit:
        high = min(low + _PROBE, limit)
        if _offset(zone, high) != offset:
            return _bisect(zone, low, high, offset)
        low = high
    return None


def _bisect(zone: ZoneInfo, low: datetime, high: datetime, offset: timedelta) -> datetime:
    """The transition instant in (low, high]; tzdata transitions fall on whole seconds."""
    low_s, high_s = math.floor(low.timestamp()), math.ceil(high.timestamp())
    while high_s - low_s > 1:
        middle = (low_s + high_s) // 2
        if _offset(zone, datetime.fromtimestamp(middle, UTC)) == offset:
            low_s = middle
        else:
            high_s = middle
    return datetime.fromtimestamp(high_s, UTC)


def _offset(zone: ZoneInfo, instant: datetime) -> timedelta:
    offset = instant.astimezone(zone).utcoffset()
    assert offset is not None
    return offset


def _wall(instant: datetime, offset: timedelta) -> datetime:
    """The naive local wall time of ``instant`` under ``offset``."""
    return (instant.astimezone(UTC) + offset).replace(tzinfo=None)
