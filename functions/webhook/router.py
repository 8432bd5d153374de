"""Routes requests to webhook sources by path and answers as the delivery went.

A 2xx answer means every watcher took the event (or it was dead-lettered); a failed delivery is
503 so the sender retries. Routing is one dict lookup, flat in the number of endpoints.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass

from prometheus_client import Counter

from functions.webhook.config import WebhookConfig
from functions.webhook.message import to_raw_event
from gateways.errors import DeliveryError, EventFormatError, GatewayError
from gateways.function import Request, Response
from gateways.source import Emit, Origin

log = logging.getLogger(__name__)
REQUESTS = Counter(
    "gateways_webhook_requests",
    "Webhook requests by gateway, source and the status they were answered with",
    ("gateway", "source", "code"),
)
UNKNOWN_PATH_BODY_LIMIT = 64 << 10


class RouteConflictError(GatewayError):
    pass


@dataclass(frozen=True, slots=True)
class Route:
    origin: Origin
    config: WebhookConfig
    emit: Emit
    bearer_token: str | None = None
    hmac_key: bytes | None = None


class Router:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}

    async def startup(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    def add(self, route: Route) -> None:
        current = self.routes.get(route.config.endpoint)
        if current is not None and current.origin != route.origin:
            raise RouteConflictError(
                f"endpoint: {route.config.endpoint} is already served by "
                f"{current.origin.gateway}/{current.origin.source}"
            )
        self.routes[route.config.endpoint] = route

    def remove(self, route: Route) -> None:
        if self.routes.get(route.config.endpoint) is route:
            del self.routes[route.config.endpoint]

    def body_limit(self, method: str, path: str) -> int:
        route = self.routes.get(path)
        return route.config.max_payload_size if route else UNKNOWN_PATH_BODY_LIMIT

    async def handle(self, request: Request) -> Response:
        route = self.routes.get(request.path)
        if route is None:
            REQUESTS.labels("", "", "404").inc()
            return Response.error(404, f"no webhook endpoint at {request.path}")
        response = await self._answer(route, request)
        REQUESTS.labels(route.origin.gateway, route.origin.source, str(response.status)).inc()
        return response

    async def _answer(self, route: Route, request: Request) -> Response:
        if request.method not in route.config.methods:
            allowed = ", ".join(sorted(route.config.methods))
            return Response(405, b"method not allowed\n", {"allow": allowed})
        if len(request.body) > route.config.max_payload_size:
            return Response.error(413, f"payload larger than {route.config.max_payload_size} bytes")
        denied = _check_auth(route, request)
        if denied is not None:
            return denied
        raw = to_raw_event(request)
        try:
            await route.emit(raw)
        except EventFormatError as exc:
            return Response.error(400, str(exc))
        except DeliveryError as exc:
            log.warning("%s/%s: %s", route.origin.gateway, route.origin.source, exc)
            return Response.error(503, "delivery to watchers failed", failures=list(exc.failures))
        return Response.json(200, {"status": "delivered"})


def _check_auth(route: Route, request: Request) -> Response | None:
    if route.bearer_token is not None:
        given = request.header("authorization")
        if not given or not given.lower().startswith("bearer "):
            return Response(401, b"bearer token required\n", {"www-authenticate": "Bearer"})
        if not hmac.compare_digest(given[7:].strip().encode(), route.bearer_token.encode()):
            return Response.error(403, "bearer token does not match")
    if route.hmac_key is not None and route.config.hmac is not None:
        spec = route.config.hmac
        signature = request.header(spec.header)
        if not signature:
            return Response.error(401, f"signature header {spec.header} required")
        expected = (
            spec.prefix
            + hmac.new(route.hmac_key, request.body, getattr(hashlib, spec.algorithm)).hexdigest()
        )
        if not hmac.compare_digest(signature.strip().encode(), expected.encode()):
            return Response.error(403, "signature does not match")
    return None
