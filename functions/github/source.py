"""GitHub sources: one webhook endpoint each, and the hook registered upstream.

Every request is checked before anything else: its ``X-Hub-Signature-256`` (HMAC-SHA256 of
the raw body with ``webHookSecret``, compared in constant time), or the legacy sha1
``X-Hub-Signature`` only when ``allowSha1Signature`` is set. A ``ping`` is answered without
delivering; an event the config does not subscribe to is answered ``ignored``; every other
delivery is answered 200 only once every watcher took it (503 otherwise, so GitHub shows the
delivery failed and it can be redelivered under the same id).

With an ``apiToken`` the hook is made sure of on start (created, or updated in place) under
the core's supervisor: retried with backoff and shown ``degraded`` meanwhile, while the
endpoint serves from the start. The kind's one declaration, ``KIND``, ends this module.
"""

from __future__ import annotations

import asyncio
import hmac
import logging

from functions.github.client import HookSpec, delete_hook, ensure_hook
from functions.github.config import GitHubConfig
from functions.github.message import DeliveryFormatError, read_delivery, to_raw_event
from gateways.config.common import Backoff
from gateways.function import Request, Response
from gateways.hooks.source import HookSource
from gateways.kinds import SourceKind
from gateways.secrets import resolve

log = logging.getLogger(__name__)
SHA256_HEADER = "X-Hub-Signature-256"
SHA1_HEADER = "X-Hub-Signature"


class GitHubSource(HookSource[GitHubConfig]):
    kind = "github"
    registers = True  # a no-op without apiToken: the source then only receives
    _key: bytes = b""

    @property
    def registration_backoff(self) -> Backoff:
        return self.config.backoff

    async def prepare(self) -> None:
        self._key = resolve(self.config.webhook_secret).encode()

    async def handle(self, request: Request) -> Response:
        denied = check_signature(request, self._key, allow_sha1=self.config.allow_sha1_signature)
        if denied is not None:
            return denied
        try:
            delivery = read_delivery(request)
        except DeliveryFormatError as exc:
            return Response.error(exc.status, str(exc))
        if delivery.event == "ping":
            return Response.json(200, {"status": "pong", "hookid": delivery.hook_id})
        if not self.config.subscribes(delivery.event):
            return Response.json(200, {"status": "ignored", "event": delivery.event})
        return await self.deliver([to_raw_event(delivery)], delivery=delivery.delivery)

    async def register(self) -> None:
        config = self.config
        if not config.registers:
            return
        assert config.api_token is not None
        token = resolve(config.api_token)  # read on each attempt: a Secret may appear later
        spec = HookSpec.of(config, self._key.decode())
        done = await asyncio.to_thread(ensure_hook, config, token, spec)
        log.info("%s: %s on %s for %s", self.label, done, config.target, spec.url)

    async def deregister(self) -> None:
        config = self.config
        if not (config.registers and config.delete_hook_on_finish and config.hook.url):
            return
        assert config.api_token is not None
        token = resolve(config.api_token)
        deleted = await asyncio.to_thread(delete_hook, config, token, config.hook.url)
        log.info("%s: deleted hooks %s on %s", self.label, deleted, config.target)


def check_signature(request: Request, key: bytes, *, allow_sha1: bool) -> Response | None:
    """None when the body is signed with ``key``; else the 401/403 answer saying why."""
    given = request.header(SHA256_HEADER)
    algorithm, header = "sha256", SHA256_HEADER
    if not given and allow_sha1 and request.header(SHA1_HEADER):
        given, algorithm, header = request.header(SHA1_HEADER), "sha1", SHA1_HEADER
    if not given:
        if request.header(SHA1_HEADER):
            return Response.error(
                401, f"{SHA256_HEADER} required (sha1 signatures are not accepted here)"
            )
        return Response.error(401, f"{SHA256_HEADER} required")
    expected = f"{algorithm}=" + hmac.new(key, request.body, algorithm).hexdigest()
    if not hmac.compare_digest(given.strip().encode("utf-8", "replace"), expected.encode()):
        return Response.error(403, f"{header} does not match the body")
    return None


KIND = SourceKind(name="github", config=GitHubConfig, create=GitHubSource, served_by="webhook")
