"""Cron in an IANA timezone across DST: the instants documented in functions.calendar.cron."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import islice, pairwise, takewhile
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter

from functions.calendar.cron import ZonedCron
from functions.calendar.ticks import due_ticks, next_tick
from tests.kinds.calendar.fakes import calendar

NEW_YORK = ZoneInfo("America/New_York")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def ticks_between(schedule: str, start: str, end: str) -> list[str]:
    """Every tick in (start, end], as ``MM-DD HH:MMZ`` on the UTC clock."""
    config = calendar(
        schedule=schedule,
        timezone="America/New_York",
        catchUp={"maxTicks": 1000, "maxDuration": "48h"},
    )
    due = due_ticks(config, utc(start), utc(end))
    assert due.skipped is None
    return [tick.strftime("%m-%d %H:%MZ") for tick in due.due]


# Spring forward, 2026-03-08: 02:00 EST (07:00Z) becomes 03:00 EDT; 02:00-02:59 never happens.
SPRING = [
    # Fixed time in the gap: fires once, at the first instant after the gap (03:00 EDT).
    ("30 2 * * *", "03-09 08:00", ["03-08 07:00Z", "03-09 06:30Z"]),
    # Wildcard hour: once per real hour; the missing 02:00 has none.
    ("0 * * * *", "03-08 08:00", ["03-08 05:00Z", "03-08 06:00Z", "03-08 07:00Z", "03-08 08:00Z"]),
    # Fixed time before the gap: unaffected (01:30 EST, then 01:30 EDT).
    ("30 1 * * *", "03-09 08:00", ["03-08 06:30Z", "03-09 05:30Z"]),
    # Every real half hour: 00:00 .. 01:30 EST, then 03:00, 03:30, 04:00 EDT.
    (
        "*/30 * * * *",
        "03-08 08:00",
        [
            "03-08 05:00Z",
            "03-08 05:30Z",
            "03-08 06:00Z",
            "03-08 06:30Z",
            "03-08 07:00Z",
            "03-08 07:30Z",
            "03-08 08:00Z",
        ],
    ),
]
# Fall back, 2026-11-01: 02:00 EDT (06:00Z) becomes 01:00 EST; 01:00-01:59 happens twice.
FALL = [
    # After the repeated hour: once, 02:30 EST.
    ("30 2 * * *", "11-02 08:00", ["11-01 07:30Z", "11-02 07:30Z"]),
    # Wildcard hour: once per real hour, both 01:00s (EDT 05:00Z, EST 06:00Z).
    ("0 * * * *", "11-01 08:00", ["11-01 05:00Z", "11-01 06:00Z", "11-01 07:00Z", "11-01 08:00Z"]),
    # Fixed time in the repeated hour: its first occurrence only (01:30 EDT), not 06:30Z.
    ("30 1 * * *", "11-02 08:00", ["11-01 05:30Z", "11-02 06:30Z"]),
    # Every real half hour through both passes.
    (
        "*/30 * * * *",
        "11-01 07:00",
        ["11-01 05:00Z", "11-01 05:30Z", "11-01 06:00Z", "11-01 06:30Z", "11-01 07:00Z"],
    ),
]


@pytest.mark.parametrize(("schedule", "end", "expected"), SPRING)
def test_spring_forward(schedule: str, end: str, expected: list[str]) -> None:
    assert (
        ticks_between(schedule, "2026-03-08T04:59:00", f"2026-{end.replace(' ', 'T')}:00")
        == expected
    )


@pytest.mark.parametrize(("schedule", "end", "expected"), FALL)
def test_fall_back(schedule: str, end: str, expected: list[str]) -> None:
    assert (
        ticks_between(schedule, "2026-11-01T04:59:00", f"2026-{end.replace(' ', 'T')}:00")
        == expected
    )


def test_next_tick_walks_the_same_instants() -> None:
    config = calendar(schedule="30 2 * * *", timezone="America/New_York")
    first = next_tick(config, utc("2026-03-07T12:00:00"))
    assert first == utc("2026-03-08T07:00:00")
    assert first.astimezone(NEW_YORK).isoformat() == "2026-03-08T03:00:00-04:00"
    assert next_tick(config, first) == utc("2026-03-09T06:30:00")


def test_restart_inside_the_repeated_hour_does_not_fire_its_first_pass_again() -> None:
    # 01:10 EST, second pass: 01:30 already fired at 05:30Z (01:30 EDT).
    config = calendar(schedule="30 1 * * *", timezone="America/New_York")
    assert next_tick(config, utc("2026-11-01T06:10:00")) == utc("2026-11-02T06:30:00")


def test_an_hourly_schedule_fires_once_per_real_hour_all_year() -> None:
    cron = ZonedCron("0 * * * *", NEW_YORK)
    ticks = list(islice(cron.ticks_after(utc("2025-12-31T23:30:00")), 24 * 365))
    assert all(later - earlier == timedelta(hours=1) for earlier, later in pairwise(ticks))


ZONES = [
    "America/New_York",
    "Australia/Lord_Howe",
    "Europe/Berlin",
    "America/Santiago",
    "Asia/Kolkata",
]


def ticks_in_2026(schedule: str, zone: ZoneInfo) -> list[datetime]:
    ticks = ZonedCron(schedule, zone).ticks_after(utc("2025-12-31T12:00:00"))
    in_2026 = takewhile(lambda t: t.astimezone(zone).year < 2027, ticks)
    return [tick for tick in in_2026 if tick.astimezone(zone).year == 2026]


# Gaps and repeats at 02:00 (New York, Berlin), a 30-minute shift at 02:00 (Lord Howe), at
# midnight (Santiago), and none (Kolkata).
@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("schedule", ["30 2 * * *", "45 1 * * *", "0 0 * * *", "30 23 * * *"])
def test_a_daily_schedule_fires_exactly_once_every_local_day(zone: str, schedule: str) -> None:
    tz = ZoneInfo(zone)
    ticks = ticks_in_2026(schedule, tz)
    assert all(later > earlier for earlier, later in pairwise(ticks))
    assert len({tick.astimezone(tz).date() for tick in ticks}) == len(ticks) == 365


@pytest.mark.parametrize("zone", ZONES)
def test_ticks_match_the_local_clock_or_follow_a_gap(zone: str) -> None:
    tz = ZoneInfo(zone)
    for schedule in ("0 * * * *", "45 1 * * *", "0 0 * * *"):
        for tick in ticks_in_2026(schedule, tz):
            wall = tick.astimezone(tz).replace(tzinfo=None)
            after_gap = (tick - timedelta(seconds=1)).astimezone(tz).utcoffset() != tick.astimezone(
                tz
            ).utcoffset()
            assert croniter.match(schedule, wall) or after_gap, (schedule, tick)


def test_a_date_that_never_comes_ends_the_schedule() -> None:
    assert list(ZonedCron("0 0 30 2 *", NEW_YORK).ticks_after(utc("2026-01-01T00:00:00"))) == []
