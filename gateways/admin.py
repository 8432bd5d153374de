"""The admin endpoints of every process: /status, /healthz, /readyz, /metrics, and the
status page (``/`` and ``/events/recent``, :mod:`gateways.observe.page`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateways.function import Request, Response
from gateways.observe.page import SAFE_HEADERS, Page
from gateways.observe.recent import Recorder
from gateways.observe.render import counts_json, rate_json, stamp
from gateways.registry.status import SourceStatus


class AdminApp:
    """``recorder`` is the dispatcher's record of recent events (None in a process whose
    sink is the dispatcher function: its sources' states are shown, no event counts)."""

    def __init__(
        self,
        statuses: Callable[[], list[SourceStatus]],
        problems: Callable[[], list[str]],
        ready: Callable[[], bool],
        recorder: Recorder | None = None,
    ) -> None:
        self.statuses = statuses
        self.problems = problems
        self.ready = ready
        self.recorder = recorder
        self.page = Page(recorder)

    async def startup(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def handle(self, request: Request) -> Response:
        if request.path == "/status":
            rates = "rates" in parse_qs(request.query, keep_blank_values=True)
            return Response.json(200, self.status(rates), SAFE_HEADERS)
        if request.path == "/healthz":
            return Response(200, b"ok\n")
        if request.path == "/readyz":
            return Response(200, b"ready\n") if self.ready() else Response(503, b"starting\n")
        if request.path == "/metrics":
            return Response(200, generate_latest(), {"content-type": CONTENT_TYPE_LATEST})
        if self.page.serves(request.path):
            return await self.page.handle(request)
        return Response.error(404, f"no admin endpoint at {request.path}")

    def status(self, rates: bool = False) -> dict[str, Any]:
        """Each source's state; with a recorder its event counts too, and with ``rates`` its
        events per few seconds over the last minutes."""
        now = time.time()
        sources = []
        for status in self.statuses():
            document = status.to_json()
            if self.recorder is not None:
                log = self.recorder.log(status.gateway, status.name)
                document["events"] = counts_json(log)
                if rates:
                    document["rate"] = rate_json(log, now)
            sources.append(document)
        return {
            "sources": sources,
            "registryProblems": self.problems(),
            "time": stamp(now),
            "recording": self.recorder is not None,
        }
