"""A calendar tick -> the raw event it becomes.

The tick itself is the event's id and time (RFC 3339 in UTC), so a tick fired twice (a crash
between its emit and its save) carries the same CloudEvent id and a watcher can drop the
repeat. The payload is ``{"eventTime": <tick>, "userPayload": <the source's userPayload>}``.
"""

from __future__ import annotations

import json
from datetime import datetime

from functions.calendar.config import CalendarConfig
from functions.calendar.state import format_instant
from functions.calendar.ticks import schedule_label
from gateways.source import RawEvent


def tick_event(config: CalendarConfig, tick: datetime) -> RawEvent:
    """The raw event of ``tick`` (an aware instant) of a source configured by ``config``."""
    stamp = format_instant(tick)
    data = {"eventTime": stamp, "userPayload": config.user_payload}
    return RawEvent(
        # default=str: YAML may hand the payload dates and times, which JSON has no type for.
        payload=json.dumps(data, default=str).encode(),
        content_type="application/json",
        id=stamp,
        time=tick,
        action="tick",
        subject=schedule_label(config),
        extensions={
            "calendartz": config.timezone,
            "calendarlocal": tick.astimezone(config.zone).isoformat(),
        },
    )
