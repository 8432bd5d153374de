"""Tick arithmetic: interval anchoring, exclusions, and the bounded catch-up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from functions.calendar import ticks
from functions.calendar.ticks import ScheduleExhaustedError, due_ticks, go_duration, next_tick
from tests.kinds.calendar.fakes import calendar

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_interval_ticks_are_anchored_at_the_last_tick() -> None:
    config = calendar(interval="10s")
    assert next_tick(config, T0) == at(10)
    due = due_ticks(config, T0, at(35))
    assert due.due == (at(10), at(20), at(30))
    assert due.skipped is None
    assert due.cursor == at(30)  # state stays on the grid, not at now


def test_sub_second_interval() -> None:
    due = due_ticks(calendar(interval="200ms"), T0, at(1))
    assert due.due == tuple(at(0.2 * n) for n in range(1, 6))


def test_a_source_never_fired_starts_from_now() -> None:
    due = due_ticks(calendar(schedule="* * * * *"), None, at(3600))
    assert due.due == ()
    assert due.cursor == at(3600)


def test_nothing_is_due_while_now_is_not_after_the_last_tick() -> None:
    assert due_ticks(calendar(interval="1s"), at(10), at(5)) == ticks.DueTicks()


def test_cron_due_ticks_end_at_now_inclusive() -> None:
    due = due_ticks(calendar(schedule="*/5 * * * *"), T0, at(600))
    assert due.due == (at(300), at(600))
    assert due.cursor == at(600)


def test_catch_up_keeps_the_newest_max_ticks_and_reports_the_rest() -> None:
    config = calendar(interval="10s", catchUp={"maxTicks": 3, "maxDuration": "1h"})
    due = due_ticks(config, T0, at(100))
    assert due.due == (at(80), at(90), at(100))
    assert due.skipped == ticks.Skipped(7, at(10), at(70))


def test_catch_up_ignores_ticks_older_than_max_duration() -> None:
    config = calendar(interval="10s", catchUp={"maxTicks": 100, "maxDuration": "30s"})
    due = due_ticks(config, T0, at(100))
    assert due.due == (at(80), at(90), at(100))  # 70 is exactly 30 s old: out
    assert due.skipped == ticks.Skipped(7, at(10), at(70))


def test_catch_up_disabled_fires_only_the_current_tick() -> None:
    config = calendar(schedule="* * * * *", catchUp={"enabled": False})
    due = due_ticks(config, T0, at(185))
    assert due.due == (at(180),)
    assert due.skipped == ticks.Skipped(2, at(60), at(120))


def test_a_very_long_outage_is_counted_up_to_a_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ticks, "SCAN_LIMIT", 5)
    config = calendar(interval="1s", catchUp={"maxTicks": 2, "maxDuration": "10s"})
    due = due_ticks(config, T0, at(1000))
    assert due.due == (at(999), at(1000))
    assert due.skipped is not None
    assert (due.skipped.first, due.skipped.more) == (at(1), True)
    assert due.skipped.count == 5 + 8  # counted before the jump, then the window's overflow
    assert due.skipped.last == at(998)


def test_an_exclusion_date_of_today_suppresses_ticks() -> None:
    now = datetime.now(UTC)
    today = now.astimezone(UTC).date()
    config = calendar(interval="1m", exclusionDates=[today.isoformat()])
    due = due_ticks(config, now - timedelta(minutes=30), now)
    assert due.due == ()
    assert due.cursor is not None and now - due.cursor < timedelta(
        minutes=1
    )  # handled all the same
    assert next_tick(config, now).date() > today


def test_exclusions_use_the_local_date_of_the_timezone() -> None:
    # 2026-05-01 in Tokyo is 2026-04-30T15:00Z .. 2026-05-01T15:00Z.
    config = calendar(
        interval="6h",
        timezone="Asia/Tokyo",
        exclusionDates=["2026-05-01"],
        catchUp={"maxDuration": "72h"},
    )
    start = datetime(2026, 4, 30, 9, 0, tzinfo=UTC)
    due = due_ticks(config, start, start + timedelta(days=2))
    assert [t.isoformat() for t in due.due[:2]] == [
        "2026-05-01T15:00:00+00:00",
        "2026-05-01T21:00:00+00:00",
    ]
    assert due.cursor == start + timedelta(days=2)


def test_recurrence_exdate_lines_suppress_their_days() -> None:
    config = calendar(
        schedule="0 9 * * *",
        timezone="Europe/Berlin",
        recurrence=["EXDATE;TZID=Europe/Berlin:20260502T090000,20260504T090000"],
        catchUp={"maxDuration": "168h"},
    )
    due = due_ticks(
        config, datetime(2026, 4, 30, 12, tzinfo=UTC), datetime(2026, 5, 5, 12, tzinfo=UTC)
    )
    assert [t.astimezone(config.zone).strftime("%m-%d %H:%M") for t in due.due] == [
        "05-01 09:00",
        "05-03 09:00",
        "05-05 09:00",
    ]


def test_a_run_of_excluded_days_is_jumped_not_walked() -> None:
    days = [(T0.date() + timedelta(days=n)).isoformat() for n in range(30)]
    config = calendar(interval="100ms", exclusionDates=days)
    assert next_tick(config, T0) == datetime(2026, 5, 31, 0, 0, 0, 0, tzinfo=UTC)


def test_a_date_that_never_comes_has_no_next_tick() -> None:
    with pytest.raises(ScheduleExhaustedError):
        next_tick(calendar(schedule="0 0 30 2 *"), T0)


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (timedelta(milliseconds=200), "200ms"),
        (timedelta(microseconds=250), "250µs"),
        (timedelta(seconds=1.5), "1.5s"),
        (timedelta(seconds=90), "1m30s"),
        (timedelta(hours=1), "1h0m0s"),
    ],
)
def test_intervals_are_labelled_as_go_durations(duration: timedelta, text: str) -> None:
    assert go_duration(duration) == text
