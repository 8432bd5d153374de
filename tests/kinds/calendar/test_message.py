"""Calendar tick -> raw event: id and time are the tick, the payload carries userPayload."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from functions.calendar.message import tick_event
from gateways.events.builder import build
from gateways.source import Origin
from tests.kinds.calendar.fakes import calendar

TICK = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 03:30 CEST: Berlin moved to summer time at 01:00Z


def test_a_cron_tick_is_identified_by_its_instant() -> None:
    config = calendar(schedule="30 * * * *", timezone="Europe/Berlin", userPayload={"job": "x"})
    raw = tick_event(config, TICK)
    assert raw.id == "2026-03-29T01:30:00Z"
    assert raw.time == TICK
    assert (raw.action, raw.subject, raw.content_type) == ("tick", "30 * * * *", "application/json")
    assert json.loads(raw.payload) == {
        "eventTime": "2026-03-29T01:30:00Z",
        "userPayload": {"job": "x"},
    }
    assert raw.extensions == {
        "calendartz": "Europe/Berlin",
        "calendarlocal": "2026-03-29T03:30:00+02:00",
    }
    assert raw.binding == "none" and not raw.headers  # never taken for an incoming CloudEvent


def test_the_same_tick_twice_is_the_same_event() -> None:
    config = calendar(interval="10s")
    assert tick_event(config, TICK) == tick_event(config, TICK)
    later = tick_event(config, TICK + timedelta(seconds=10))
    assert later.id == "2026-03-29T01:30:10Z"


def test_an_aware_tick_in_another_zone_is_stamped_in_utc() -> None:
    config = calendar(interval="1m", timezone="America/New_York")
    local = TICK.astimezone(ZoneInfo("Asia/Tokyo"))
    raw = tick_event(config, local)
    assert raw.id == "2026-03-29T01:30:00Z"
    assert raw.extensions["calendarlocal"] == "2026-03-28T21:30:00-04:00"


def test_an_interval_is_labelled_as_go_writes_it() -> None:
    assert tick_event(calendar(interval="90s"), TICK).subject == "@every 1m30s"
    assert tick_event(calendar(schedule="@every 200ms"), TICK).subject == "@every 200ms"
    assert tick_event(calendar(schedule="@hourly"), TICK).subject == "0 * * * *"


def test_user_payloads_of_every_shape() -> None:
    def payload(value: object) -> Any:
        document = json.loads(tick_event(calendar(interval="1m", userPayload=value), TICK).payload)
        return document["userPayload"]

    assert payload(None) is None
    assert payload('{"a": [1, 2]}') == {"a": [1, 2]}  # a JSON string travels as JSON
    assert payload("not json") == "not json"
    assert payload(7) == 7
    # YAML hands dates as dates; they travel as their ISO text.
    assert payload({"from": date(2026, 5, 1)}) == {"from": "2026-05-01"}
    assert json.loads(tick_event(calendar(interval="1m"), TICK).payload) == {
        "eventTime": "2026-03-29T01:30:00Z",
        "userPayload": None,
    }


def test_the_builder_makes_a_calendar_tick_event() -> None:
    config = calendar(interval="200ms", timezone="Europe/Paris", userPayload={"n": 1})
    event = build(tick_event(config, TICK), Origin("cal", "fast", "calendar"))
    assert event.type == "dev.gateways.calendar.tick"
    assert event.source == "/gateways/cal/fast"
    assert event.id == event.attributes["time"] == "2026-03-29T01:30:00Z"
    assert event.attributes["subject"] == "@every 200ms"
    assert event.attributes["calendartz"] == "Europe/Paris"
    assert event.json() == {"eventTime": "2026-03-29T01:30:00Z", "userPayload": {"n": 1}}
