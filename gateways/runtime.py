"""One gateway process: registry -> reconciler -> sources -> dispatcher -> watchers, plus admin.

Functions, adapters and the embedded default all run this; they differ only in which kinds
they run sources for and in what serves their requests.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from gateways.admin import AdminApp
from gateways.delivery import Watcher, parse_watchers
from gateways.dispatch import Dispatcher
from gateways.errors import SettingsError
from gateways.hosting.server import Listener
from gateways.kinds import Kind, SourceContext, kinds
from gateways.registry.file import FileRegistry
from gateways.registry.model import Entry
from gateways.registry.reconciler import Reconciler, RemoteRouting
from gateways.settings import Settings
from gateways.sink import Sink

if TYPE_CHECKING:
    from gateways.replicas.coordinator import Replicas

log = logging.getLogger(__name__)


def settings_watchers(settings: Settings) -> tuple[Watcher, ...]:
    """Watchers every gateway of this process delivers to: GATEWAYS_WATCHERS and K_SINK."""
    targets: list[Any] = list(settings.watchers)
    if settings.sink:
        targets.append({"url": settings.sink, "name": "K_SINK"})
    return tuple(parse_watchers(targets, label="settings")) if targets else ()


class Registry(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


def open_registry(settings: Settings, reconciler: Reconciler) -> Registry:
    """The registry backend the settings name, feeding ``reconciler``; SettingsError if none."""
    if settings.registry_file is not None:
        return FileRegistry(
            settings.registry_file,
            reconciler.apply,
            settings.gateway_type,
            on_unreadable=reconciler.report_problems,
        )
    if settings.configmaps:
        from gateways.registry.kube import KubeRegistry  # only needed in a cluster

        registry = KubeRegistry(
            settings.namespace, settings.configmaps, reconciler.apply, settings.gateway_type
        )
        reconciler.on_change = registry.record_status  # statuses -> Kubernetes Events
        return registry
    raise SettingsError(
        "GATEWAYS_REGISTRY_FILE", "no registry: set it, or GATEWAYS_CONFIGMAPS in a cluster"
    )


class GatewayRuntime:
    """Registry -> reconciler -> sources -> sink, plus the admin endpoints.

    The sink is the dispatcher in this process unless one is given (an adapter's
    :class:`~gateways.adapter.invoker.DispatcherInvoker`); ``parse`` is how an entry becomes
    the config its kind gets. ``remote`` runs the sources of gateways that name an
    event-source server (and, in an adapter, every source) on that server.
    """

    def __init__(
        self,
        settings: Settings,
        accept: Callable[[str], bool] = lambda kind: True,
        context: SourceContext | None = None,
        kind_table: Mapping[str, Kind] | None = None,
        admin: bool = True,
        sink: Sink | None = None,
        parse: Callable[[Entry], Any] | None = None,
        registry_optional: bool = False,
        remote: RemoteRouting | None = None,
        exclusive: Callable[[str], bool] | None = None,
        role: str = "gateway",
    ) -> None:
        self.settings = settings
        self.context = context or SourceContext(settings)
        self.sink: Sink = sink or Dispatcher(
            settings.ce_overrides,
            settings_watchers(settings),
            max_in_flight=settings.max_in_flight,
            connections=settings.watcher_connections,
        )
        self.reconciler = Reconciler(
            self.context,
            self.sink,
            kind_table if kind_table is not None else kinds(),
            accept=accept,
            parse=parse,
            remote=remote,
            exclusive=exclusive,
        )
        # Replicas of one role watching the same ConfigMaps share its exclusive sources.
        self.role = role
        self.replicas: Replicas | None = None
        self.registry: Registry | None = None
        self.admin: Listener | None = None
        self._admin_enabled = admin
        # The dispatcher runs without a registry (it then delivers to the process's watchers).
        self._registry_optional = registry_optional
        self.ready = False

    @property
    def dispatcher(self) -> Dispatcher:
        """The in-process dispatcher (functions build and deliver with it)."""
        if not isinstance(self.sink, Dispatcher):
            raise TypeError("this process's sink is the dispatcher function, not in-process")
        return self.sink

    def _replicas(self) -> Replicas:
        from gateways.replicas.coordinator import Replicas, Timings  # only needed in a cluster

        settings = self.settings
        timings = Timings(settings.lease_duration, settings.renew_deadline, settings.retry_period)
        group = "-".join([self.role, *sorted(settings.configmaps)])
        return Replicas(settings.namespace, group, settings.replica_id, timings)

    async def start(self) -> None:
        settings = self.settings
        registry: Registry | None = None
        if not self._registry_optional or settings.registry_file or settings.configmaps:
            registry = open_registry(settings, self.reconciler)  # fails fast on the settings
        try:
            if self._admin_enabled:
                app = AdminApp(
                    self.reconciler.status,
                    lambda: self.reconciler.registry_problems,
                    lambda: self.ready,
                    self.sink.recorder if isinstance(self.sink, Dispatcher) else None,
                )
                self.admin = Listener(app, settings.host, settings.admin_port)
                await self.admin.start()
            self.registry = registry
            if registry is not None and settings.replicas == "leases" and settings.configmaps:
                self.replicas = self._replicas()
                self.reconciler.share(self.replicas)  # joins once it has an exclusive source
            if registry is not None:
                await registry.start()
        except BaseException:
            await self.stop()
            raise
        self.ready = True

    async def stop(self) -> None:
        self.ready = False
        if self.registry is not None:
            await self.registry.stop()
        if self.replicas is not None:
            await self.replicas.stop()  # its sources stop here before their leases are freed
        await self.reconciler.close()
        if self.admin is not None:
            await self.admin.stop()
