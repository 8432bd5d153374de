"""Routes HTTP requests to the source serving their path, after the checks every endpoint
shares: 404 unknown path, 405 method not allowed (with ``Allow``), 413 body too large.

Routing is one dict lookup, flat in the number of endpoints. Each answer is counted by
gateway, source and status code.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from prometheus_client import Counter

from gateways.errors import GatewayError
from gateways.function import Request, Response
from gateways.hooks.endpoint import HookEndpoint
from gateways.source import Origin

REQUESTS = Counter(
    "gateways_webhook_requests",
    "Requests to HTTP-family sources by gateway, source and the status they were answered with",
    ("gateway", "source", "code"),
)
UNKNOWN_PATH_BODY_LIMIT = 64 << 10
Handler = Callable[[Request], Awaitable[Response]]


class RouteConflictError(GatewayError):
    pass


@dataclass(frozen=True, slots=True)
class Route:
    origin: Origin
    endpoint: HookEndpoint
    handle: Handler  # called once the shared checks passed


class Router:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}

    async def startup(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    def add(self, route: Route) -> None:
        path = route.endpoint.endpoint
        current = self.routes.get(path)
        if current is not None and current.origin != route.origin:
            raise RouteConflictError(
                f"endpoint: {path} is already served by "
                f"{current.origin.gateway}/{current.origin.source}"
            )
        self.routes[path] = route

    def remove(self, route: Route) -> None:
        if self.routes.get(route.endpoint.endpoint) is route:
            del self.routes[route.endpoint.endpoint]

    def body_limit(self, method: str, path: str) -> int:
        route = self.routes.get(path)
        return route.endpoint.max_payload_size if route else UNKNOWN_PATH_BODY_LIMIT

    async def handle(self, request: Request) -> Response:
        route = self.routes.get(request.path)
        if route is None:
            REQUESTS.labels("", "", "404").inc()
            return Response.error(404, f"no endpoint at {request.path}")
        response = await self._answer(route, request)
        REQUESTS.labels(route.origin.gateway, route.origin.source, str(response.status)).inc()
        return response

    async def _answer(self, route: Route, request: Request) -> Response:
        endpoint = route.endpoint
        if request.method not in endpoint.methods:
            allowed = ", ".join(sorted(endpoint.methods))
            return Response(405, b"method not allowed\n", {"allow": allowed})
        if len(request.body) > endpoint.max_payload_size:
            return Response.error(413, f"payload larger than {endpoint.max_payload_size} bytes")
        return await route.handle(request)
