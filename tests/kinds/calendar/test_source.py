"""The long-running scheduler, on a clock the test drives."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from functions.calendar.config import CalendarConfig
from functions.calendar.source import KIND, CalendarSource
from functions.calendar.state import FileStateStore
from gateways.config.common import Backoff
from gateways.kinds import SourceContext
from gateways.source import Origin, RawEvent
from tests.kinds.calendar.fakes import FakeClock, RecordingEmit, calendar

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
ORIGIN = Origin("cal", "ticker", "calendar")
QUICK_RETRY = Backoff(duration=timedelta(seconds=1), factor=2.0, jitter=0.0)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def stamp(seconds: float) -> str:
    return at(seconds).isoformat().replace("+00:00", "Z")


Start = Callable[..., Any]


@pytest.fixture
async def scheduler(tmp_path: Path) -> AsyncIterator[Start]:
    """``await scheduler(config, clock, emit)`` starts a source on one shared state file."""
    started: list[CalendarSource] = []

    async def start(
        config: CalendarConfig,
        clock: FakeClock,
        emit: RecordingEmit,
        on_status: Callable[[Origin, str, str], None] = lambda *status: None,
        **options: Any,
    ) -> CalendarSource:
        store = FileStateStore(tmp_path / "calendar-state.json")
        context = SourceContext(settings=None, on_status=on_status)
        source = CalendarSource(
            ORIGIN, config, context, store=store, clock=clock, backoff=QUICK_RETRY, **options
        )
        started.append(source)
        await source.start(emit)
        await clock.idle()
        return source

    yield start
    for source in started:
        await source.stop()


async def test_an_interval_source_fires_on_time(scheduler: Start) -> None:
    clock, emit = FakeClock(T0), RecordingEmit()
    await scheduler(calendar(interval="10s", userPayload='{"team": "ops"}'), clock, emit)
    assert emit.events == []  # a first start fires nothing old
    await clock.advance(9.999)
    assert emit.events == []
    await clock.advance(0.001)
    assert emit.ids == [stamp(10)]
    await clock.advance(20)
    assert emit.ids == [stamp(10), stamp(20), stamp(30)]
    raw = emit.events[0]
    assert (raw.time, raw.action, raw.subject, raw.content_type) == (
        at(10),
        "tick",
        "@every 10s",
        "application/json",
    )
    assert json.loads(raw.payload) == {"eventTime": stamp(10), "userPayload": {"team": "ops"}}
    assert raw.extensions["calendartz"] == "UTC"


async def test_a_cron_source_sleeps_until_its_next_tick(scheduler: Start) -> None:
    clock, emit = FakeClock(at(90)), RecordingEmit()  # 12:01:30
    await scheduler(calendar(schedule="*/5 * * * *", timezone="Europe/Berlin"), clock, emit)
    assert clock.sleeps == [60.0]  # slices of at most a minute, towards 12:05
    await clock.advance(209)
    assert emit.events == []
    await clock.advance(1)
    assert emit.ids == [stamp(300)]
    assert emit.events[0].extensions["calendarlocal"] == "2026-05-01T14:05:00+02:00"


async def test_an_exclusion_date_of_today_suppresses_ticks(
    scheduler: Start, tmp_path: Path
) -> None:
    clock, emit = FakeClock(T0), RecordingEmit()  # 14:00 on 2026-05-01 in Berlin
    config = calendar(interval="1h", timezone="Europe/Berlin", exclusionDates=["2026-05-01"])
    await scheduler(config, clock, emit)
    await clock.advance(12 * 3600)
    # 22:00Z is midnight in Berlin: the first tick of 2026-05-02.
    assert emit.ids == [stamp(10 * 3600), stamp(11 * 3600), stamp(12 * 3600)]


async def test_a_restart_fires_the_missed_tick_once_and_nothing_twice(scheduler: Start) -> None:
    clock, emit = FakeClock(T0), RecordingEmit()
    first = await scheduler(calendar(interval="10s"), clock, emit)
    await clock.advance(20)
    assert emit.ids == [stamp(10), stamp(20)]
    await first.stop()
    await clock.advance(15)  # down at 30 s: that tick is missed
    again = RecordingEmit()
    await scheduler(calendar(interval="10s"), clock, again)
    assert again.ids == [stamp(30)]  # caught up on start, 20 s not repeated
    await clock.advance(5)
    assert again.ids == [stamp(30), stamp(40)]


async def test_beyond_the_catch_up_bound_a_restart_skips_and_reports(
    scheduler: Start, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    config = calendar(interval="10s", catchUp={"maxTicks": 2, "maxDuration": "1m"})
    clock, emit = FakeClock(T0), RecordingEmit()
    first = await scheduler(config, clock, emit)
    await clock.advance(10)
    await first.stop()
    await clock.advance(300)  # down from 10 s to 310 s
    again = RecordingEmit()
    with caplog.at_level(logging.WARNING, "functions.calendar"):
        await scheduler(config, clock, again)
    assert again.ids == [stamp(300), stamp(310)]
    assert "skipped 28 tick(s) from 2026-05-01T12:00:20Z to 2026-05-01T12:04:50Z" in caplog.text
    state = json.loads((tmp_path / "calendar-state.json").read_text())
    assert state == {"cal/ticker": stamp(310)}


async def test_a_failed_emit_is_retried_and_state_does_not_move_past_it(
    scheduler: Start, tmp_path: Path
) -> None:
    clock, emit = FakeClock(T0), RecordingEmit()
    statuses: list[tuple[str, str]] = []

    def on_status(origin: Origin, state: str, reason: str) -> None:
        assert origin == ORIGIN
        statuses.append((state, reason))

    await scheduler(calendar(interval="10s"), clock, emit, on_status)
    state_file = tmp_path / "calendar-state.json"
    emit.fail(3)
    await clock.advance(10)  # fails; retries after 1 s, 2 s, 4 s
    assert emit.attempts == [stamp(10)]
    assert json.loads(state_file.read_text()) == {"cal/ticker": stamp(0)}
    await clock.advance(3)
    assert emit.attempts == [stamp(10)] * 3 and emit.events == []
    assert json.loads(state_file.read_text()) == {"cal/ticker": stamp(0)}
    await clock.advance(4)  # 17 s: the fourth attempt succeeds
    assert emit.ids == [stamp(10)]
    assert json.loads(state_file.read_text()) == {"cal/ticker": stamp(10)}
    assert statuses[0][0] == "degraded" and "not delivered" in statuses[0][1]
    assert statuses[-1] == ("running", "")
    await clock.advance(3)
    assert emit.ids == [stamp(10), stamp(20)]


async def test_ticks_that_fall_due_while_failing_fire_in_order_afterwards(scheduler: Start) -> None:
    clock, emit = FakeClock(T0), RecordingEmit()
    await scheduler(calendar(interval="1s"), clock, emit)
    emit.fail(4)  # retries at +1, +2, +4 and +8 s: four ticks fall due meanwhile
    await clock.advance(16)
    assert emit.attempts[:4] == [stamp(1)] * 4
    assert emit.ids[:3] == [stamp(1), stamp(2), stamp(3)]
    assert emit.ids == [stamp(n) for n in range(1, 17)]


async def test_stop_cancels_a_sleeping_or_emitting_source(scheduler: Start, tmp_path: Path) -> None:
    clock, emit = FakeClock(T0), RecordingEmit()
    source = await scheduler(calendar(interval="10s"), clock, emit)
    await source.stop()
    await source.stop()  # idempotent
    assert clock.sleeping == 0


def test_the_kind_shares_one_file_store_from_the_state_dir(tmp_path: Path) -> None:
    class Settings:
        state_dir = tmp_path
        configmaps = ()

    context = SourceContext(Settings())
    one = KIND.create(ORIGIN, calendar(interval="1s"), context)
    two = KIND.create(Origin("cal", "other", "calendar"), calendar(interval="1s"), context)
    assert KIND.name == "calendar"
    assert isinstance(one.store, FileStateStore) and one.store is two.store
    assert one.store.path == tmp_path / "calendar-state.json"


async def test_stop_during_an_emit_leaves_that_tick_due(scheduler: Start, tmp_path: Path) -> None:
    clock = FakeClock(T0)
    entered = asyncio.Event()

    async def hanging_emit(raw: RawEvent) -> None:
        entered.set()
        await asyncio.Event().wait()

    source = await scheduler(calendar(interval="10s"), clock, hanging_emit)
    await clock.advance(10, settle=False)  # the source wakes at its tick and hangs in emit
    async with asyncio.timeout(2):
        await entered.wait()
    await source.stop()
    assert json.loads((tmp_path / "calendar-state.json").read_text()) == {"cal/ticker": stamp(0)}


class BlockingEmit(RecordingEmit):
    """Holds each emit until ``release`` is set (a delivery in flight)."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, raw: RawEvent) -> None:
        self.entered.set()
        await self.release.wait()
        await super().__call__(raw)


async def test_stop_lets_the_round_in_flight_deliver_and_save_its_tick(
    scheduler: Start, tmp_path: Path
) -> None:
    """On handover the next owner reads the state: a stop mid-emit must not lose the save."""
    clock, emit = FakeClock(T0), BlockingEmit()
    source = await scheduler(calendar(interval="10s"), clock, emit)
    await clock.advance(10, settle=False)
    await asyncio.wait_for(emit.entered.wait(), 5)
    stopping = asyncio.create_task(source.stop())
    for _ in range(20):  # let stop run as far as it goes
        await asyncio.sleep(0)
    assert not stopping.done()  # waiting for the round
    emit.release.set()
    await asyncio.wait_for(stopping, 5)
    assert emit.ids == [stamp(10)]
    store = FileStateStore(tmp_path / "calendar-state.json")
    assert await store.load(ORIGIN) == at(10)


async def test_stop_cancels_a_round_stuck_beyond_the_grace(scheduler: Start) -> None:
    clock, emit = FakeClock(T0), BlockingEmit()
    source = await scheduler(calendar(interval="10s"), clock, emit, stop_grace=0.1)
    await clock.advance(10, settle=False)
    await asyncio.wait_for(emit.entered.wait(), 5)
    await asyncio.wait_for(source.stop(), 5)
    assert emit.ids == []
