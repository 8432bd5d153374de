"""The cron-triggered calendar function against a real watcher, on a clock the test sets."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from functions.calendar.app import CalendarFunctionApp
from functions.calendar.state import FileStateStore
from functions.calendar.trigger import CalendarFunction
from gateways.delivery import Deliverer, DeliverySpec, Watcher
from gateways.dispatch import Dispatcher
from gateways.function import Request, Response
from gateways.registry.file import load_text
from gateways.settings import Settings
from tests.kinds.calendar.fakes import FakeClock
from tests.watcher import RecordingWatcher

T0 = datetime(2026, 5, 1, 12, 0, 10, tzinfo=UTC)
REGISTRY = """
kind: ConfigMap
metadata: {name: team-a, labels: {gateways.dev/type: calendar}}
data:
  every-minute: |
    schedule: "* * * * *"
    userPayload: {"job": "report"}
  broken: |
    schedule: "61 * * * *"
    timezone: Mars/Olympus
---
kind: ConfigMap
metadata: {name: team-b, labels: {gateways.dev/type: calendar}}
data:
  every-30s: |
    interval: 30s
---
kind: ConfigMap
metadata: {name: hooks, labels: {gateways.dev/type: webhook}}
data:
  example: |
    endpoint: /example
"""
CRON_CONNECTOR = Request("POST", "/", {"x-connector": "cron-connector", "x-topic": "cron-function"})


def stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def report(response: Response) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(response.body)
    return {f"{s['gateway']}/{s['source']}": s for s in document["sources"]}


@pytest.fixture
async def dispatcher(watcher: RecordingWatcher) -> AsyncIterator[Dispatcher]:
    dispatcher = Dispatcher(default=Deliverer([Watcher(watcher.url)], DeliverySpec(retry=0)))
    yield dispatcher
    await dispatcher.close()


def function(
    dispatcher: Dispatcher, tmp_path: Path, clock: FakeClock, registry: str = REGISTRY
) -> CalendarFunction:
    gateways, problems = load_text(registry, "registry")
    assert problems == []
    return CalendarFunction(
        lambda: gateways, dispatcher, FileStateStore(tmp_path / "state.json"), clock
    )


async def test_due_ticks_fire_across_sources_and_an_invalid_one_is_reported(
    dispatcher: Dispatcher, watcher: RecordingWatcher, tmp_path: Path
) -> None:
    clock = FakeClock(T0)
    app = function(dispatcher, tmp_path, clock)
    first = await app.handle(CRON_CONNECTOR)
    assert first.status == 200
    sources = report(first)
    assert sorted(sources) == [
        "team-a/broken",
        "team-a/every-minute",
        "team-b/every-30s",
    ]  # no webhook
    assert sources["team-a/every-minute"]["fired"] == [] == sources["team-b/every-30s"]["fired"]
    assert sources["team-a/broken"]["invalid"] == [
        "calendar/broken: schedule: '61 * * * *' is not a 5-field cron expression or @descriptor",
        "calendar/broken: timezone: 'Mars/Olympus' is not an IANA timezone",
    ]

    clock.current = at(125)  # 12:02:15
    second = await app.handle(CRON_CONNECTOR)
    assert second.status == 200
    sources = report(second)
    assert sources["team-a/every-minute"]["fired"] == [
        "2026-05-01T12:01:00Z",
        "2026-05-01T12:02:00Z",
    ]
    assert sources["team-b/every-30s"]["fired"] == [
        stamp(at(30)),
        stamp(at(60)),
        stamp(at(90)),
        stamp(at(120)),
    ]
    assert json.loads(second.body)["trigger"] == "cron-connector"
    events = [r.event for r in await watcher.wait_for(6)]
    minute = [e for e in events if e is not None and e.source == "/gateways/team-a/every-minute"]
    assert [e.json() for e in minute] == [
        {"eventTime": "2026-05-01T12:01:00Z", "userPayload": {"job": "report"}},
        {"eventTime": "2026-05-01T12:02:00Z", "userPayload": {"job": "report"}},
    ]


async def test_a_failed_delivery_answers_503_and_the_tick_fires_on_the_next_trigger(
    dispatcher: Dispatcher, watcher: RecordingWatcher, tmp_path: Path
) -> None:
    clock = FakeClock(T0)
    registry = REGISTRY.split("---")[0]
    app = function(dispatcher, tmp_path, clock, registry)
    assert (await app.handle(CRON_CONNECTOR)).status == 200
    watcher.answer(503)
    clock.current = at(55)  # 12:01:05
    failed = await app.handle(CRON_CONNECTOR)
    assert failed.status == 503
    source = report(failed)["team-a/every-minute"]
    assert source["fired"] == []
    assert source["error"].startswith("tick 2026-05-01T12:01:00Z: ")
    assert "503" in source["error"]
    assert report(failed)["team-a/broken"]["invalid"]  # still reported, not the cause

    clock.current = at(80)
    retried = await app.handle(CRON_CONNECTOR)
    assert retried.status == 200
    assert report(retried)["team-a/every-minute"]["fired"] == ["2026-05-01T12:01:00Z"]
    first, second = await watcher.wait_for(2)
    assert first.event is not None and second.event is not None
    assert first.event.id == second.event.id == "2026-05-01T12:01:00Z"  # the same tick, droppable


async def test_catch_up_beyond_the_bound_is_reported_as_skipped(
    dispatcher: Dispatcher, tmp_path: Path
) -> None:
    clock = FakeClock(T0)
    registry = REGISTRY.split("---")[0].replace(
        '"* * * * *"', '"* * * * *"\n    catchUp: {maxTicks: 2}'
    )
    app = function(dispatcher, tmp_path, clock, registry)
    await app.handle(CRON_CONNECTOR)
    clock.current = at(300)
    source = report(await app.handle(CRON_CONNECTOR))["team-a/every-minute"]
    assert source["fired"] == ["2026-05-01T12:04:00Z", "2026-05-01T12:05:00Z"]
    assert source["skipped"] == {
        "count": 3,
        "first": "2026-05-01T12:01:00Z",
        "last": "2026-05-01T12:03:00Z",
        "more": False,
    }


PING = {
    "specversion": "1.0",
    "type": "dev.knative.sources.ping",
    "source": "/apis/v1/namespaces/default/pingsources/calendar",
    "id": "7b1d4b55",
    "time": "2026-05-01T12:01:00Z",
}


@pytest.mark.parametrize(
    ("request_", "trigger"),
    [
        (CRON_CONNECTOR, "cron-connector"),
        (
            Request(
                "POST",
                "/",
                {**{f"ce-{k}": v for k, v in PING.items()}, "content-type": "application/json"},
                b"{}",
            ),
            "pingsource",
        ),
        (
            Request(
                "POST",
                "/",
                {"content-type": "application/cloudevents+json"},
                json.dumps(PING).encode(),
            ),
            "pingsource",
        ),
        (Request("POST", "/", {}), "http"),
    ],
)
async def test_every_trigger_kind_is_recognised(
    dispatcher: Dispatcher, tmp_path: Path, request_: Request, trigger: str
) -> None:
    response = await function(dispatcher, tmp_path, FakeClock(T0)).handle(request_)
    assert (response.status, json.loads(response.body)["trigger"]) == (200, trigger)


async def test_only_post_triggers(dispatcher: Dispatcher, tmp_path: Path) -> None:
    response = await function(dispatcher, tmp_path, FakeClock(T0)).handle(Request("GET", "/", {}))
    assert (response.status, response.headers["allow"]) == (405, "POST")


async def test_the_deployed_app_reads_the_registry_and_its_watchers(
    watcher: RecordingWatcher, tmp_path: Path
) -> None:
    registry = tmp_path / "registry.yaml"
    annotations = f"annotations: {{gateways.dev/watchers: '[\"{watcher.url}\"]'}}"
    registry.write_text(
        REGISTRY.split("---")[1].replace(
            "labels: {gateways.dev/type: calendar}}",
            f"labels: {{gateways.dev/type: calendar}}, {annotations}}}",
        )
    )
    settings = Settings(registry_file=registry, state_dir=tmp_path, admin_port=0)
    clock = FakeClock(T0)
    app = CalendarFunctionApp(settings, clock)
    await app.startup()
    try:
        assert (await app.handle(CRON_CONNECTOR)).status == 200
        clock.current = at(31)
        fired = await app.handle(CRON_CONNECTOR)
    finally:
        await app.shutdown()
    assert (fired.status, report(fired)["team-b/every-30s"]["fired"]) == (200, [stamp(at(30))])
    (recorded,) = await watcher.wait_for(1)
    assert recorded.event is not None and recorded.event.source == "/gateways/team-b/every-30s"
    assert (tmp_path / "calendar-state.json").exists()
