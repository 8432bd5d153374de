"""One short real run: a 200 ms interval source, through the dispatcher, to a real watcher."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path

from functions.calendar.source import CalendarSource
from functions.calendar.state import FileStateStore
from gateways.delivery import Deliverer, DeliverySpec, Watcher
from gateways.dispatch import Dispatcher
from gateways.kinds import SourceContext
from gateways.source import Origin
from tests.kinds.calendar.fakes import calendar
from tests.watcher import RecordingWatcher


async def test_a_200ms_interval_reaches_a_real_watcher(
    watcher: RecordingWatcher, tmp_path: Path
) -> None:
    origin = Origin("cal", "every-200ms", "calendar")
    dispatcher = Dispatcher(default=Deliverer([Watcher(watcher.url)], DeliverySpec()))
    store = FileStateStore(tmp_path / "calendar-state.json")
    config = calendar(
        interval="200ms", timezone="Europe/Paris", userPayload={"team": "ops", "n": 1}
    )
    source = CalendarSource(origin, config, SourceContext(settings=None), store=store)
    await source.start(dispatcher.emitter(origin))
    try:
        recorded = await watcher.wait_for(3, timeout=5)
    finally:
        await source.stop()
        await dispatcher.close()

    assert [r.method for r in recorded] == ["POST"] * 3
    assert recorded[0].headers["ce-type"] == "dev.gateways.calendar.tick"  # binary mode
    events = [r.event for r in recorded]
    assert all(event is not None for event in events)
    times = []
    for event in events:
        assert event is not None
        attributes = event.attributes
        assert attributes["specversion"] == "1.0"
        assert attributes["type"] == "dev.gateways.calendar.tick"
        assert attributes["source"] == "/gateways/cal/every-200ms"
        assert attributes["subject"] == "@every 200ms"
        assert attributes["datacontenttype"] == "application/json"
        assert attributes["calendartz"] == "Europe/Paris"
        assert attributes["id"] == attributes["time"]  # the tick: a repeat is droppable
        assert attributes["id"].endswith("Z")
        assert event.json() == {
            "eventTime": attributes["id"],
            "userPayload": {"team": "ops", "n": 1},
        }
        times.append(datetime.fromisoformat(attributes["id"]))
    assert all(later - earlier == timedelta(milliseconds=200) for earlier, later in pairwise(times))
    saved = datetime.fromisoformat(json.loads(store.path.read_text())["cal/every-200ms"])
    # Each tick is saved once delivered; the stop may land before the last one's save.
    assert saved >= times[-2]
