"""The shared adapter runtime: every adapter's entry point is ``run_adapter("<kind>")``.

One process holds both halves of the seed's gateway: the event-source server, hosting the
kind's sources from the kinds table on 127.0.0.1 (or, with ``GATEWAYS_EVENT_SOURCE_SERVER``, a
custom server elsewhere), and the gateway client: the registry, watched; the reconciler, which
validates, starts, stops and restarts each source on its server through
:class:`RemoteServers` (a gateway that names a server of its own in its annotation runs
there); and the dispatcher, in-process or over HTTP. Admin endpoints (/healthz, /readyz, /status,
/metrics) and graceful shutdown on SIGTERM come with it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping

from gateways.adapter.invoker import DispatcherInvoker
from gateways.adapter.remote import RemoteServers
from gateways.adapter.server import EventSourceServer
from gateways.adapter.settings import AdapterSettings
from gateways.config.server import ServerSpec
from gateways.dispatch import Dispatcher
from gateways.errors import GatewayError, SettingsError
from gateways.hosting.process import run_process
from gateways.kinds import Kind, SourceContext, kinds
from gateways.runtime import GatewayRuntime, open_registry, settings_watchers
from gateways.sink import Sink

log = logging.getLogger(__name__)


class AdapterRuntime:
    """A :class:`GatewayRuntime` whose one kind runs on an event-source server: this
    process's own, or a custom one elsewhere (``GATEWAYS_EVENT_SOURCE_SERVER``)."""

    def __init__(
        self, settings: AdapterSettings, kind_table: Mapping[str, Kind] | None = None
    ) -> None:
        self.settings = settings
        base = settings.base
        self.server: EventSourceServer | None = None
        table = kind_table if kind_table is not None else kinds()
        declared = table.get(settings.kind)
        exclusive = bool(getattr(declared, "exclusive", False))  # a custom kind's: not known
        if settings.event_source_server is None:
            if settings.kind not in table:
                raise SettingsError(
                    "kind",
                    f"no source kind {settings.kind!r} (installed: {', '.join(sorted(table))});"
                    " a custom kind runs on its own server: set GATEWAYS_EVENT_SOURCE_SERVER",
                )
            self.server = EventSourceServer(
                {settings.kind: table[settings.kind]},
                SourceContext(base),
                settings.server_host,
                settings.server_port,
                base.max_in_flight,
            )
        self.remote = RemoteServers(
            settings.event_source_server or ServerSpec(settings.server_address, "acked"),
            base.max_in_flight,
            settings.shutdown_grace,
            default_is_ours=self.server is not None,
        )
        self.gateway = GatewayRuntime(
            base,
            accept=lambda kind: kind == settings.kind,
            kind_table={},
            sink=self._sink(),
            remote=self.remote,
            exclusive=lambda kind: exclusive and kind == settings.kind,
            role=f"{settings.kind}-adapter",
        )
        self.reconciler = self.gateway.reconciler

    @property
    def ready(self) -> bool:
        return self.gateway.ready

    def _sink(self) -> Sink:
        """The dispatcher function over HTTP, or the dispatcher in this process (direct).

        The in-process one delivers CloudEvents to each gateway's watchers plus K_SINK and
        GATEWAYS_WATCHERS; in http mode it takes only events too large for any request.
        """
        settings, base = self.settings, self.settings.base
        direct = Dispatcher(
            base.ce_overrides,
            settings_watchers(base),
            max_in_flight=base.max_in_flight,
            connections=base.watcher_connections,
        )
        if settings.dispatch == "http" and settings.dispatcher_url:
            return DispatcherInvoker(
                settings.dispatcher_url,
                batch_size=settings.batch_size,
                linger=settings.batch_linger,
                max_requests=settings.max_requests,
                timeout=settings.dispatch_timeout,
                retries=settings.dispatch_retries,
                max_request_bytes=base.max_request_bytes,
                direct=direct,  # for an event too large for any request to the dispatcher
            )
        return direct

    async def start(self) -> None:
        open_registry(self.settings.base, self.reconciler)  # fails fast on the settings
        try:
            if self.server is not None:
                await self.server.start()
                self.remote.default = ServerSpec(self.server.address, "acked")
            await self.gateway.start()
        except BaseException:
            await self.stop()
            raise
        assert self.remote.default is not None
        log.info(
            "%s adapter running; event-source server %s",
            self.settings.kind,
            self.remote.default.address,
        )

    async def stop(self) -> None:
        """Stop taking events; in-flight ones finish or are rejected (the broker redelivers)."""
        await self.gateway.stop()  # closes the channels to the servers too
        if self.server is not None:
            await self.server.stop(grace=5.0)


def run_adapter(kind: str) -> None:
    """The whole of an adapter's ``__main__``: settings from the environment, run until SIGTERM."""
    try:
        settings = AdapterSettings.from_env(kind)
    except GatewayError as exc:
        print(f"{kind} adapter: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    name = f"{kind} adapter"
    raise SystemExit(run_process(name, lambda: AdapterRuntime(settings), settings.base.log_level))
