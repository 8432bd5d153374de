"""Webhook sources: one endpoint each, on the port its config names (or the function's).

Auth (a bearer token, or an HMAC signature over the body such as GitHub's) is checked in
constant time before anything is delivered; the answer is 200 only once every watcher took
the event. A request's W3C ``traceparent`` becomes the event's (the builder reads the headers
the raw event keeps); with OpenTelemetry on, a ``receive`` span covers the request. The
kind's one declaration, ``KIND``, ends this module.
"""

from __future__ import annotations

import hashlib
import hmac

from functions.webhook.config import WebhookConfig
from functions.webhook.message import to_raw_event
from gateways import logs, tracing
from gateways.function import Request, Response
from gateways.hooks.source import HookSource
from gateways.kinds import SourceKind
from gateways.secrets import resolve


class WebhookSource(HookSource[WebhookConfig]):
    kind = "webhook"
    _bearer_token: str | None = None
    _hmac_key: bytes | None = None

    async def prepare(self) -> None:
        config = self.config
        self._bearer_token = resolve(config.bearer_token) if config.bearer_token else None
        self._hmac_key = resolve(config.hmac.secret).encode() if config.hmac else None

    async def handle(self, request: Request) -> Response:
        token = logs.bind(gateway=self.origin.gateway, source=self.origin.source, kind=self.kind)
        try:
            if tracing.active():
                with tracing.receive(self.origin, request.headers):
                    return await self._handle(request)
            return await self._handle(request)
        finally:
            logs.unbind(token)

    async def _handle(self, request: Request) -> Response:
        denied = self._check_auth(request)
        if denied is not None:
            return denied
        return await self.deliver([to_raw_event(request)])

    def _check_auth(self, request: Request) -> Response | None:
        if self._bearer_token is not None:
            given = request.header("authorization")
            if not given or not given.lower().startswith("bearer "):
                return Response(401, b"bearer token required\n", {"www-authenticate": "Bearer"})
            if not hmac.compare_digest(given[7:].strip().encode(), self._bearer_token.encode()):
                return Response.error(403, "bearer token does not match")
        spec = self.config.hmac
        if self._hmac_key is not None and spec is not None:
            signature = request.header(spec.header)
            if not signature:
                return Response.error(401, f"signature header {spec.header} required")
            digest = hmac.new(self._hmac_key, request.body, getattr(hashlib, spec.algorithm))
            expected = spec.prefix + digest.hexdigest()
            if not hmac.compare_digest(signature.strip().encode(), expected.encode()):
                return Response.error(403, "signature does not match")
        return None


KIND = SourceKind(name="webhook", config=WebhookConfig, create=WebhookSource, served_by="webhook")
