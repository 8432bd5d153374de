"""GitLab sources: one project hook endpoint each, served by the webhook function.

A delivery is checked before anything else: its ``X-Gitlab-Token`` against the configured
secret token, in constant time (401 missing, 403 wrong), then its body (400 unless a JSON
object) and its ``X-Gitlab-Event`` (400 when missing). An event the source does not subscribe
to is answered 200 ``{"status": "ignored"}`` and goes nowhere; the rest are answered 200 only
once every watcher took the event (503 otherwise, so GitLab may send it again).

With an ``accessToken`` the source also keeps the project hook on GitLab as configured, under
the core's registration supervisor (retried with backoff, shown ``degraded`` meanwhile), and
deletes it when the source leaves the registry if ``deleteHookOnFinish`` says so. The kind's
one declaration, ``KIND``, ends this module.
"""

from __future__ import annotations

import asyncio
import hmac
import logging

from functions.gitlab.client import HookSpec, ProjectHooks
from functions.gitlab.config import GitLabConfig
from functions.gitlab.message import (
    EVENT_HEADER,
    TOKEN_HEADER,
    PayloadError,
    parse_payload,
    to_raw_event,
)
from gateways.function import Request, Response
from gateways.hooks.source import HookSource
from gateways.kinds import SourceKind
from gateways.secrets import resolve

log = logging.getLogger(__name__)


class GitLabSource(HookSource[GitLabConfig]):
    kind = "gitlab"
    registers = True  # register() does nothing when the config has no accessToken
    _secret_token: bytes | None = None
    _access_token: str | None = None

    async def prepare(self) -> None:
        config = self.config
        if config.secret_token is not None:
            self._secret_token = resolve(config.secret_token).encode()
        if config.access_token is not None:
            self._access_token = resolve(config.access_token)

    async def handle(self, request: Request) -> Response:
        denied = self._check_token(request)
        if denied is not None:
            return denied
        try:
            payload = parse_payload(request.body)
        except PayloadError as exc:
            return Response.error(400, str(exc))
        event = (request.header(EVENT_HEADER) or "").strip()
        if not event:
            return Response.error(400, "X-Gitlab-Event header required")
        if not self.config.accepts(event):
            return Response.json(200, {"status": "ignored", "event": event})
        return await self.deliver([to_raw_event(request.headers, request.body, payload)])

    def _check_token(self, request: Request) -> Response | None:
        if self._secret_token is None:
            return None
        given = request.header(TOKEN_HEADER)
        if not given:
            return Response.error(401, "X-Gitlab-Token header required")
        if not hmac.compare_digest(given.encode(), self._secret_token):
            return Response.error(403, "X-Gitlab-Token does not match")
        return None

    # ------------------------------------------------------------------ the hook on GitLab

    def _hooks(self) -> ProjectHooks | None:
        config = self.config
        if self._access_token is None or config.project_id is None:
            return None
        return ProjectHooks(config.gitlab_base_url, self._access_token, config.project_id)

    def _spec(self) -> HookSpec:
        config = self.config
        assert config.hook.url is not None  # the config requires it with accessToken
        token = self._secret_token.decode() if self._secret_token is not None else None
        return HookSpec(config.hook.url, config.events, token, config.enable_ssl_verification)

    async def register(self) -> None:
        hooks = self._hooks()
        if hooks is None:
            return  # no accessToken: the hook is managed on GitLab by hand
        spec = self._spec()
        outcome = await asyncio.to_thread(hooks.ensure, spec)
        duplicates = (
            f", {outcome.removed_duplicates} duplicate(s) deleted"
            if outcome.removed_duplicates
            else ""
        )
        log.info(
            "%s: project hook %s %s for %s%s",
            self.label,
            outcome.hook_id,
            outcome.action,
            spec.url,
            duplicates,
        )

    async def deregister(self) -> None:
        hooks = self._hooks()
        if hooks is None or not self.config.delete_hook_on_finish:
            return
        url = self._spec().url
        deleted = await asyncio.to_thread(hooks.delete, url)
        log.info("%s: %d project hook(s) for %s deleted", self.label, deleted, url)


KIND = SourceKind(name="gitlab", config=GitLabConfig, create=GitLabSource, served_by="webhook")
