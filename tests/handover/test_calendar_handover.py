"""The calendar across replicas: ticks survive SIGKILLed owners, each delivered once by id.

Three calendar adapter processes watch one gateway ConfigMap; its annotation
``gateways.dev/calendar-state`` holds each source's last delivered tick and, during a round,
the firing lease. Whichever replica delivered the latest tick is the owner; it is SIGKILLed
twice (and restarted, as a Deployment would), and the ticks are counted by CloudEvent id.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest

from functions.calendar.state import parse_instant
from tests.conftest import MakeWatcher
from tests.handover.replicas import Replica, replica_maker
from tests.kit import configmap, unique, wait_until
from tests.kubekit import put_configmap
from tests.servicekit import KubernetesService
from tests.watcher import RecordingWatcher

pytestmark = [pytest.mark.kubernetes, pytest.mark.timeout(120)]
SECOND = timedelta(seconds=1)


def ticks(watchers: list[RecordingWatcher], subject: str) -> list[tuple[str, RecordingWatcher]]:
    """Every delivery of ``subject``'s ticks (its CloudEvent id) and the watcher it reached."""
    return [
        (event.id, watcher)
        for watcher in watchers
        for event in watcher.events
        if event.attributes.get("subject") == subject
    ]


def assert_on_grid(ids: set[str], step: timedelta) -> None:
    instants = sorted(parse_instant(i) for i in ids)
    gaps = [b - a for a, b in pairwise(instants) if b - a != step]
    assert not gaps, f"missed or uneven ticks: {gaps}"


async def test_three_replicas_owner_killed_twice(
    kubernetes_service: KubernetesService,
    namespace: str,
    make_watcher: MakeWatcher,
    tmp_path: Path,
) -> None:
    gateway = unique("calendar-")
    sources = {"every-second": {"interval": "1s"}, "every-minute": {"schedule": "* * * * *"}}
    await put_configmap(kubernetes_service, namespace, configmap(gateway, "calendar", sources, []))
    watchers = [await make_watcher() for _ in range(3)]

    replica = replica_maker("calendar", kubernetes_service, namespace, gateway, watchers, tmp_path)

    replicas = [replica(i, 0) for i in range(3)]
    try:
        for started in replicas:
            await started.start()
        now = datetime.now().astimezone()
        boundary = now.replace(second=0, microsecond=0) + timedelta(minutes=1)

        def seconds() -> list[tuple[str, RecordingWatcher]]:
            return ticks(watchers, "@every 1s")

        await wait_until(lambda: len(seconds()) >= 3, 30, seconds)
        for kill in range(2):
            _, owner_watcher = max(seconds(), key=lambda delivery: delivery[0])
            index = watchers.index(owner_watcher)
            killed_at = replicas[index].kill()
            await replicas[index].wait()
            before = {i for i, _ in seconds()}

            def taken_over(before: set[str] = before, index: int = index) -> bool:
                return any(i not in before and w is not watchers[index] for i, w in seconds())

            await wait_until(taken_over, 30, seconds)
            first = min(
                r.received_at
                for w in watchers
                if w is not watchers[index]
                for r in w.requests
                if r.event is not None
                and r.event.attributes.get("subject") == "@every 1s"
                and r.event.id not in before
            )
            print(f"kill {kill + 1}: replica {index} killed; takeover {first - killed_at:.2f}s")
            replicas[index] = await replica(index, kill + 1).start()

        # Run on over a minute boundary, so the cron source fires across the kills too.
        await wait_until(lambda: datetime.now().astimezone() > boundary + 2 * SECOND, 65)
    finally:
        for running in replicas:
            await running.stop()

    every_second = Counter(i for i, _ in seconds())
    repeats = {i: n for i, n in every_second.items() if n > 1}
    print(f"every-second: {len(every_second)} ticks, repeats {repeats}")
    # A repeat (same id) needs a kill between a tick's emit and its save: 2 kills, 2 at most.
    assert sum(n - 1 for n in repeats.values()) <= 2
    assert_on_grid(set(every_second), SECOND)
    last = max(parse_instant(i) for i in every_second)
    assert last >= boundary + SECOND  # ticks went on to the end of the run
    minutes = Counter(i for i, _ in ticks(watchers, "* * * * *"))
    print(f"every-minute: {dict(minutes)}")
    assert parse_instant(boundary.isoformat()) in {parse_instant(i) for i in minutes}
    assert all(n == 1 for n in minutes.values())


async def test_ticks_due_while_no_replica_runs_are_caught_up_once(
    kubernetes_service: KubernetesService,
    namespace: str,
    make_watcher: MakeWatcher,
    tmp_path: Path,
) -> None:
    """The one replica is SIGKILLed; the ticks that fall due before the next one starts are
    fired by it on start (within the catch-up bound), in order, each once."""
    gateway = unique("calendar-")
    sources = {"every-second": {"interval": "1s"}}
    await put_configmap(kubernetes_service, namespace, configmap(gateway, "calendar", sources, []))
    first_watcher, second_watcher = await make_watcher(), await make_watcher()
    first = await Replica(
        "calendar", kubernetes_service, namespace, gateway, first_watcher, tmp_path, "first"
    ).start()
    try:
        await wait_until(lambda: len(first_watcher.events) >= 2, 30)
    finally:
        first.kill()
    await first.wait()
    down_since = datetime.now().astimezone()
    await wait_until(lambda: datetime.now().astimezone() > down_since + 3 * SECOND, 10)
    second = Replica(
        "calendar", kubernetes_service, namespace, gateway, second_watcher, tmp_path, "second"
    )
    try:
        await second.start()
        await wait_until(lambda: len(second_watcher.events) >= 5, 30)
    finally:
        await second.stop()

    before = Counter(e.id for e in first_watcher.events)
    after = Counter(e.id for e in second_watcher.events)
    caught_up = [i for i in after if parse_instant(i) <= down_since + 3 * SECOND]
    print(f"delivered before the kill: {len(before)}; caught up on start: {len(caught_up)}")
    assert len(caught_up) >= 3  # the ticks of the 3 s no replica ran
    assert all(n == 1 for n in after.values())
    repeated = set(before) & set(after)
    assert len(repeated) <= 1  # only a tick the kill caught between its emit and its save
    assert_on_grid(set(before) | set(after), SECOND)
