"""The admin endpoints of every process: /status, /healthz, /readyz and /metrics."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateways.function import Request, Response
from gateways.registry.status import SourceStatus


class AdminApp:
    def __init__(
        self,
        statuses: Callable[[], list[SourceStatus]],
        problems: Callable[[], list[str]],
        ready: Callable[[], bool],
    ) -> None:
        self.statuses = statuses
        self.problems = problems
        self.ready = ready

    async def startup(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def handle(self, request: Request) -> Response:
        if request.path == "/status":
            return Response.json(
                200,
                {
                    "sources": [s.to_json() for s in self.statuses()],
                    "registryProblems": self.problems(),
                },
            )
        if request.path == "/healthz":
            return Response(200, b"ok\n")
        if request.path == "/readyz":
            return Response(200, b"ready\n") if self.ready() else Response(503, b"starting\n")
        if request.path == "/metrics":
            return Response(200, generate_latest(), {"content-type": CONTENT_TYPE_LATEST})
        return Response.error(404, f"no admin endpoint at {request.path}")
