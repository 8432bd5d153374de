"""The base of every HTTP-family source: its endpoint is routed to the kind's ``handle``,
and, for kinds that register a hook upstream (GitHub, GitLab, SNS), the registration runs
under a :class:`~gateways.supervisor.Supervisor`: retried with the config's backoff and shown
in the source's status, while the endpoint serves from the start whatever registration does.

A kind subclasses :class:`HookSource` and supplies ``kind``, ``endpoint`` and ``handle``;
``prepare()`` reads its secrets (a secret that is missing or empty fails the start), and a
registering kind sets ``registers`` and supplies ``register()`` and, when its config asks to
delete the hook once the source leaves the registry, ``deregister()``. Scale to zero stops
every source; only a source removed from the registry deregisters.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Generic, TypeVar

from gateways.config.common import Backoff
from gateways.errors import DeliveryError, EventFormatError
from gateways.function import Request, Response
from gateways.hooks.endpoint import HookEndpoint
from gateways.hooks.router import Route
from gateways.hooks.servers import servers_for
from gateways.kinds import SourceContext
from gateways.source import Emit, Origin, RawEvent
from gateways.supervisor import Supervisor

log = logging.getLogger(__name__)
ConfigT = TypeVar("ConfigT")
REGISTRATION_BACKOFF = Backoff()  # 1 s doubling, at most a minute, for ever


class HookSource(Generic[ConfigT]):
    kind: ClassVar[str]
    registers: ClassVar[bool] = False

    def __init__(self, origin: Origin, config: ConfigT, context: SourceContext) -> None:
        self.origin = origin
        self.config = config
        self.context = context
        self.label = f"{self.kind} {origin.gateway}/{origin.source}"
        self.servers = servers_for(context)
        self.route: Route | None = None
        self.address: str | None = None
        self._emit: Emit | None = None
        self._registration: Supervisor | None = None

    @property
    def endpoint(self) -> HookEndpoint:
        hook: HookEndpoint = self.config.hook  # type: ignore[attr-defined]
        return hook

    @property
    def registration_backoff(self) -> Backoff:
        return REGISTRATION_BACKOFF

    async def prepare(self) -> None:
        """Read secrets (``gateways.secrets.resolve``) before the endpoint serves."""

    async def handle(self, request: Request) -> Response:
        """Answer one request that passed the shared checks (path, method, size)."""
        raise NotImplementedError

    async def register(self) -> None:
        """Make sure the hook upstream exists as configured (idempotent); raise to retry."""

    async def deregister(self) -> None:
        """Delete the hook upstream (only when the config asks to, on removal)."""

    # ------------------------------------------------------------------ the Source contract

    async def start(self, emit: Emit) -> None:
        self._emit = emit
        await self.prepare()
        route = Route(self.origin, self.endpoint, self.handle)
        self.address = await self.servers.attach(route)
        self.route = route
        if self.registers:
            self._registration = Supervisor(
                f"{self.label} hook registration",
                self.registration_backoff,
                self._register_session,
                self._report,
                where="hook registration",
            )
            await self._registration.start()  # a failure leaves it degraded and retrying

    async def stop(self) -> None:
        registration, self._registration = self._registration, None
        if registration is not None:
            await registration.stop()
        if self.route is not None:
            await self.servers.detach(self.route)
            self.route = None

    async def removed(self) -> None:
        """The source left the registry (not a restart, not scale to zero): deregister."""
        if self.registers:
            try:
                await self.deregister()
            except Exception as exc:
                log.warning("%s: hook not deleted: %s", self.label, exc)

    # ------------------------------------------------------------------ for the kinds

    @property
    def emit(self) -> Emit:
        assert self._emit is not None, "the source has not started"
        return self._emit

    async def deliver(self, raws: Sequence[RawEvent], **answer: Any) -> Response:
        """Emit each raw event in turn; 200 once all are safe, 503 when one was not (the
        sender retries), 400 when one is a malformed CloudEvent."""
        try:
            for raw in raws:
                await self.emit(raw)
        except EventFormatError as exc:
            return Response.error(400, str(exc))
        except DeliveryError as exc:
            log.warning("%s: %s", self.label, exc)
            return Response.error(503, "delivery to watchers failed", failures=list(exc.failures))
        return Response.json(200, {"status": "delivered", "events": len(raws), **answer})

    def _report(self, state: str, reason: str) -> None:
        self.context.on_status(self.origin, state, reason)

    async def _register_session(self, connected: Callable[[], None]) -> str | None:
        await self.register()
        connected()
        await asyncio.Event().wait()  # registered: nothing more to do until stopped
        return None
