"""The scale-to-zero dispatcher: builds CloudEvents from adapters' raw events and delivers them.

Request formats (README, "Dispatcher protocol"):

- ``application/json``: ``{"gateway", "source", "kind", "ordered"?, "events": [raw event, ...]}``,
  each raw event in the form of :meth:`gateways.source.RawEvent.to_wire`.
- A CloudEvent in binary or structured mode, or a ``application/cloudevents-batch+json``
  batch: passed through unchanged to the watchers of ``?gateway=NAME`` (default: the
  process's own watchers, GATEWAYS_WATCHERS / K_SINK); one without ``traceparent`` gains the
  request's ``traceparent`` header, if it has one.

The answer is 200 only when every event was delivered or dead-lettered; otherwise 503 with a
result per event, so the caller retries exactly the failed ones. Malformed requests get 400.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qs

from gateways import logs
from gateways.delivery.report import DeliveryReport
from gateways.errors import EventFormatError
from gateways.events import CloudEvent, http
from gateways.events.builder import ensure_trace
from gateways.function import Request, Response
from gateways.runtime import GatewayRuntime
from gateways.settings import Settings
from gateways.source import Origin, RawEvent

# Where the status page counts CloudEvents passed through, which name no source.
PASSED_THROUGH = "passed-through"


class DispatcherFunction:
    def __init__(
        self, settings: Settings | None = None, runtime: GatewayRuntime | None = None
    ) -> None:
        self.settings = settings or Settings.from_env()
        # The registry tells each gateway's watchers and delivery spec; no source runs here.
        self.runtime = runtime or GatewayRuntime(
            self.settings, accept=lambda kind: False, registry_optional=True
        )
        self.dispatcher = self.runtime.dispatcher

    async def startup(self) -> None:
        await self.runtime.start()  # the admin endpoints, and the registry when one is set

    async def shutdown(self) -> None:
        await self.runtime.stop()

    def body_limit(self, method: str, path: str) -> int:
        """GATEWAYS_MAX_REQUEST_BYTES: larger requests get 413 unread (adapters split below it)."""
        return self.settings.max_request_bytes

    async def handle(self, request: Request) -> Response:
        if request.method != "POST":
            return Response(405, b"POST raw events or CloudEvents\n", {"allow": "POST"})
        content_type = (request.header("content-type") or "").split(";")[0].strip().lower()
        try:
            if content_type == http.BATCH_TYPE:
                return await self._passthrough(request, http.from_batch(request.body))
            event = http.from_http(request.headers, request.body)
            if event is not None:
                return await self._passthrough(request, [event])
            return await self._raw(_parse_raw_request(request.body))
        except EventFormatError as exc:
            return Response.error(400, str(exc))

    async def _raw(self, batch: tuple[Origin, list[RawEvent], bool]) -> Response:
        origin, raws, ordered = batch
        token = logs.bind(gateway=origin.gateway, source=origin.source, kind=origin.kind)
        try:
            try:
                deliverer = self.dispatcher.deliverer(origin.gateway)
            except LookupError as exc:
                return Response.error(404, str(exc))
            events = [self.dispatcher.build(origin, raw) for raw in raws]
            return await self._deliver(deliverer, events, ordered, origin)
        finally:
            logs.unbind(token)

    async def _passthrough(self, request: Request, events: list[CloudEvent]) -> Response:
        gateway = parse_qs(request.query).get("gateway", [""])[0]
        try:
            deliverer = self.dispatcher.deliverer(gateway)
        except LookupError as exc:
            return Response.error(404, str(exc))
        for event in events:
            # The request's W3C headers are the event's trace when it carries none.
            ensure_trace(event, request.headers, start=False)
            if self.dispatcher.overrides:
                event.attributes.update(self.dispatcher.overrides)
        origin = Origin(gateway or "-", PASSED_THROUGH, "cloudevents")
        return await self._deliver(deliverer, events, False, origin)

    async def _deliver(
        self, deliverer: Any, events: list[CloudEvent], ordered: bool, origin: Origin
    ) -> Response:
        recorder = self.dispatcher.recorder  # the status page's counts and recent events

        async def deliver(event: CloudEvent) -> DeliveryReport:
            log = recorder.received(origin)
            try:
                report: DeliveryReport = await deliverer.deliver(event)
            except BaseException as exc:
                recorder.failed(log, event, exc)
                raise
            recorder.finished(log, event, report)
            return report

        if ordered:
            reports = [await deliver(event) for event in events]
        else:
            reports = await asyncio.gather(*(deliver(event) for event in events))
        results = [
            {"id": event.id, "ok": True}
            if report.ok
            else {"id": event.id, "ok": False, "error": "; ".join(report.failures())}
            for event, report in zip(events, reports, strict=True)
        ]
        status = 200 if all(r["ok"] for r in results) else 503
        return Response.json(status, {"results": results})


def _parse_raw_request(body: bytes) -> tuple[Origin, list[RawEvent], bool]:
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise EventFormatError(f"request body is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise EventFormatError(
            "request body must be a JSON object with gateway, source, kind, events"
        )
    missing = [
        k
        for k in ("gateway", "source", "kind")
        if not isinstance(document.get(k), str) or not document[k]
    ]
    if missing:
        raise EventFormatError(f"{', '.join(missing)}: required (a non-empty string)")
    events = document.get("events")
    if not isinstance(events, list) or not events:
        raise EventFormatError("events: required (a non-empty list of raw events)")
    origin = Origin(document["gateway"], document["source"], document["kind"])
    raws = []
    for index, wire in enumerate(events):
        try:
            raws.append(RawEvent.from_wire(wire))
        except EventFormatError as exc:
            raise EventFormatError(f"events[{index}]: {exc}") from None
    return origin, raws, bool(document.get("ordered", False))
