"""The one connection supervisor: first start, retries with backoff, states, permanent errors."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

import pytest

from gateways.config.common import Backoff
from gateways.supervisor import PermanentError, Supervisor
from tests.kit import wait_until

FAST = Backoff(timedelta(milliseconds=10), 2.0, 0.0, 0, timedelta(milliseconds=50))


class Script:
    """Sessions that follow a script: "up" connects and waits to be told the connection
    ended, "fail" raises at once, "permanent" raises PermanentError."""

    def __init__(self, *steps: str) -> None:
        self.steps = list(steps)
        self.calls = 0
        self.lose = asyncio.Event()
        self.reports: list[tuple[str, str]] = []
        self.cancelled = 0

    async def session(self, connected: Callable[[], None]) -> str | None:
        step = self.steps[min(self.calls, len(self.steps) - 1)]
        self.calls += 1
        if step == "fail":
            raise ConnectionRefusedError("refused")
        if step == "permanent":
            raise PermanentError("bad credentials")
        connected()
        self.lose.clear()
        try:
            await self.lose.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        return "server went away"

    def report(self, state: str, reason: str) -> None:
        self.reports.append((state, reason))


def supervisor(script: Script, backoff: Backoff = FAST) -> Supervisor:
    return Supervisor("test/source", backoff, script.session, script.report, where="srv")


async def test_start_returns_once_connected_and_reports_nothing() -> None:
    script = Script("up")
    watch = supervisor(script)
    await watch.start()
    assert script.calls == 1 and script.reports == [] and watch.state == "running"
    await watch.stop()
    assert script.cancelled == 1 and watch.stopped


async def test_a_failed_first_attempt_returns_degraded_then_recovers() -> None:
    script = Script("fail", "fail", "up")
    watch = supervisor(script)
    await watch.start()
    assert script.reports[0][0] == "degraded"
    assert script.reports[0][1].startswith("srv: refused; reconnecting in")
    await wait_until(lambda: script.reports[-1] == ("running", ""), 2.0)
    assert [state for state, _ in script.reports] == ["degraded", "degraded", "running"]
    await watch.stop()


async def test_a_lost_connection_is_retried_and_reported() -> None:
    script = Script("up")
    watch = supervisor(script)
    await watch.start()
    script.lose.set()
    await wait_until(lambda: ("running", "") in script.reports, 2.0)
    assert script.reports[0][0] == "degraded"
    assert "server went away" in script.reports[0][1]
    assert script.calls == 2
    await watch.stop()


async def test_permanent_error_on_first_attempt_raises_from_start() -> None:
    script = Script("permanent")
    with pytest.raises(PermanentError, match="bad credentials"):
        await supervisor(script).start()
    assert script.calls == 1


async def test_permanent_error_later_fails_the_source_for_good() -> None:
    script = Script("up", "permanent", "up")
    watch = supervisor(script)
    await watch.start()
    script.lose.set()
    await wait_until(lambda: watch.stopped, 2.0)
    assert script.reports[-1] == ("failed", "srv: bad credentials")
    assert script.calls == 2


async def test_steps_exhausted_gives_up_with_failed() -> None:
    script = Script("fail")
    limited = Backoff(timedelta(milliseconds=5), 1.0, 0.0, 2, timedelta(milliseconds=5))
    watch = supervisor(script, limited)
    await watch.start()
    await wait_until(lambda: watch.stopped, 2.0)
    assert [state for state, _ in script.reports] == ["degraded", "degraded", "failed"]
    assert script.reports[-1][1].endswith("gave up after 2 retries")
    assert script.calls == 3


async def test_backoff_grows_between_attempts() -> None:
    script = Script("fail")
    growing = Backoff(timedelta(milliseconds=20), 2.0, 0.0, 4, timedelta(seconds=1))
    watch = supervisor(script, growing)
    await watch.start()
    await wait_until(lambda: watch.stopped, 3.0)
    waits = [reason.split("reconnecting in ")[1] for _, reason in script.reports[:-1]]
    assert waits == ["0.0s", "0.0s", "0.1s", "0.2s"]  # 20, 40, 80, 160 ms, rounded


async def test_stop_during_backoff_stops_at_once() -> None:
    script = Script("fail")
    slow = Backoff(timedelta(seconds=30), 1.0, 0.0, 0, timedelta(seconds=30))
    watch = supervisor(script, slow)
    await watch.start()
    async with asyncio.timeout(1.0):
        await watch.stop()
    assert script.calls == 1
