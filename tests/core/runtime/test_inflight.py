"""The one in-flight pool: bounded, backpressure, drain on stop, thread submissions."""

from __future__ import annotations

import asyncio
import threading

import pytest

from gateways.inflight import InFlight
from tests.kit import wait_until


async def test_at_most_limit_run_at_once_and_submit_waits_for_room() -> None:
    pool = InFlight(2, "test")
    gate = asyncio.Event()
    running = 0
    peak = 0

    async def work() -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await gate.wait()
        running -= 1

    await pool.submit(work())
    await pool.submit(work())
    assert pool.free == 0
    third = asyncio.create_task(pool.submit(work()))
    await asyncio.sleep(0.05)
    assert not third.done()  # backpressure: no room, the caller waits
    gate.set()
    await third
    await pool.drain(1.0)
    assert peak == 2 and len(pool) == 0 and pool.free == 2


async def test_room_waits_without_taking_a_slot() -> None:
    pool = InFlight(1)
    release = asyncio.Event()
    await pool.submit(release.wait())  # type: ignore[arg-type]
    waiter = asyncio.create_task(pool.room())
    await asyncio.sleep(0.02)
    assert not waiter.done()
    release.set()
    await waiter
    assert pool.free == 1


async def test_drain_lets_work_finish_then_cancels_the_rest() -> None:
    pool = InFlight(4)
    finished: list[str] = []

    async def quick() -> None:
        await asyncio.sleep(0.01)
        finished.append("quick")

    async def stuck() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            finished.append("cancelled")
            raise

    await pool.submit(quick())
    await pool.submit(stuck())
    await pool.drain(grace=0.2)
    assert sorted(finished) == ["cancelled", "quick"]
    assert len(pool) == 0 and pool.free == 4


async def test_a_failing_handler_frees_its_slot_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pool = InFlight(1, "nats/orders")

    async def broken() -> None:
        raise RuntimeError("bug")

    await pool.submit(broken())
    await wait_until(lambda: pool.free == 1, 1.0)
    assert "nats/orders: message handler failed" in caplog.text


async def test_submit_from_thread_blocks_the_thread_while_full() -> None:
    pool = InFlight(1)
    loop = asyncio.get_running_loop()
    release = asyncio.Event()
    done: list[int] = []

    async def work(n: int) -> None:
        await release.wait()
        done.append(n)

    def client_thread() -> None:
        for n in range(3):
            pool.submit_from_thread(loop, work(n))

    thread = threading.Thread(target=client_thread)
    thread.start()
    await wait_until(lambda: len(pool) == 1, 1.0)
    await asyncio.sleep(0.05)
    assert thread.is_alive()  # the second submission waits for room
    release.set()
    await wait_until(lambda: not thread.is_alive(), 2.0)
    await pool.drain(1.0)
    assert done == [0, 1, 2]


async def test_submit_from_thread_hands_work_over_without_waiting_for_the_loop() -> None:
    """With room, a thread's submissions return at once (the loop is busy meanwhile), the work
    starts in submission order, and at most ``limit`` run at once."""
    pool = InFlight(8)
    loop = asyncio.get_running_loop()
    started: list[int] = []
    running, most = 0, 0

    async def work(n: int) -> None:
        nonlocal running, most
        started.append(n)
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.001)
        running -= 1

    def client_thread() -> None:
        for n in range(8):  # the loop is blocked below: these only fit if nothing waits for it
            pool.submit_from_thread(loop, work(n))
        handed.set()
        for n in range(8, 200):
            pool.submit_from_thread(loop, work(n))

    handed = threading.Event()
    thread = threading.Thread(target=client_thread)
    thread.start()
    assert handed.wait(5.0)  # blocks the loop: a round trip per submission would never end
    await wait_until(lambda: not thread.is_alive(), 5.0)
    await pool.drain(5.0)
    assert started == list(range(200))
    assert most <= 8


async def test_submit_from_thread_raises_once_the_loop_is_closed() -> None:
    other = asyncio.new_event_loop()
    other.close()
    pool = InFlight(1)

    async def work() -> None:
        raise AssertionError("never runs")

    coroutine = work()
    with pytest.raises(RuntimeError):
        await asyncio.to_thread(pool.submit_from_thread, other, coroutine)
    assert coroutine.cr_frame is None  # closed, not left un-awaited


def test_a_pool_needs_room() -> None:
    with pytest.raises(ValueError):
        InFlight(0)
