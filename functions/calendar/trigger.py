"""The cron-triggered calendar function: each invocation fires every calendar tick that fell due.

Invoked by the OpenFaaS cron-connector (a bodiless POST with ``X-Connector: cron-connector``
and ``X-Topic: cron-function``), by a Knative PingSource (a ``dev.knative.sources.ping``
CloudEvent, binary or structured), or by any plain POST. The trigger only says "look now":
for every calendar source in the registry, every tick since that source last fired is fired
(catch-up bounded; a source never fired before starts from now), each saved once delivered.

The answer is 200 with a report per source only when every due tick was delivered, else 503
with the same report; undelivered ticks stay due for the next trigger. A source whose config
is invalid is reported with its problems (naming the field) and the others still fire.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from functions.calendar.firing import Firing, fire_due
from functions.calendar.source import Clock, SystemClock
from functions.calendar.state import StateStore, format_instant
from gateways.config import parse_source
from gateways.dispatch import Dispatcher
from gateways.errors import ConfigError, EventFormatError
from gateways.events import http
from gateways.function import Request, Response
from gateways.registry.model import Entry, Gateway

PING_TYPE = "dev.knative.sources.ping"


def trigger_of(request: Request) -> str:
    """``cron-connector``, ``pingsource``, ``cloudevent <type>`` or ``http``; raises
    EventFormatError for a malformed CloudEvent."""
    if (request.header("x-connector") or "").lower() == "cron-connector":
        return "cron-connector"
    event = http.from_http(request.headers, request.body)
    if event is None:
        return "http"
    return "pingsource" if event.type == PING_TYPE else f"cloudevent {event.type}"


@dataclass(frozen=True, slots=True)
class SourceReport:
    gateway: str
    source: str
    firing: Firing | None = None
    problems: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        return self.firing is not None and not self.firing.ok

    def to_json(self) -> dict[str, Any]:
        report: dict[str, Any] = {"gateway": self.gateway, "source": self.source}
        if self.problems:
            report["invalid"] = list(self.problems)
            return report
        firing = self.firing or Firing()
        report["fired"] = [format_instant(tick) for tick in firing.fired]
        if firing.skipped is not None:
            report["skipped"] = {
                "count": firing.skipped.count,
                "first": format_instant(firing.skipped.first),
                "last": format_instant(firing.skipped.last),
                "more": firing.skipped.more,
            }
        if firing.busy:
            report["busy"] = "another replica is firing this source"
        if firing.error is not None:
            report["error"] = firing.error
        return report


class CalendarFunction:
    """``gateways`` returns the current registry snapshot; non-calendar gateways are ignored.
    At most ``concurrency`` sources fire at once."""

    def __init__(
        self,
        gateways: Callable[[], Iterable[Gateway]],
        dispatcher: Dispatcher,
        store: StateStore,
        clock: Clock | None = None,
        concurrency: int = 16,
    ) -> None:
        self.gateways = gateways
        self.dispatcher = dispatcher
        self.store = store
        self.clock = clock or SystemClock()
        self._slots = asyncio.Semaphore(concurrency)

    async def startup(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def handle(self, request: Request) -> Response:
        if request.method != "POST":
            return Response(
                405, b"POST to fire the calendar ticks that are due\n", {"allow": "POST"}
            )
        try:
            trigger = trigger_of(request)
        except EventFormatError as exc:
            return Response.error(400, str(exc))
        now = self.clock.now()
        entries = [e for g in self.gateways() if g.kind == "calendar" for e in g.entries.values()]
        reports = await asyncio.gather(*(self._fire(entry, now) for entry in entries))
        status = 503 if any(report.failed for report in reports) else 200
        document = {
            "trigger": trigger,
            "time": format_instant(now),
            "sources": [r.to_json() for r in reports],
        }
        return Response.json(status, document)

    async def _fire(self, entry: Entry, now: datetime) -> SourceReport:
        try:
            config = parse_source(entry.kind, entry.name, entry.value)
        except ConfigError as exc:
            return SourceReport(entry.gateway, entry.name, problems=exc.problems)
        async with self._slots:
            firing = await fire_due(
                config, entry.origin, self.store, self.dispatcher.emitter(entry.origin), now
            )
        return SourceReport(entry.gateway, entry.name, firing)
