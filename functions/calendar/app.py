"""The deployed calendar function: the registry, each gateway's watchers, and the state store.

``gateways serve calendar`` (and the OpenFaaS / functions-framework bridges) build it from
settings. It runs no source: the registry is watched only to know the calendar sources and
where each gateway delivers; ticks fire when a cron trigger invokes :meth:`handle`.
"""

from __future__ import annotations

from functions.calendar.source import Clock, state_store_for
from functions.calendar.trigger import CalendarFunction
from gateways.registry.model import Gateway
from gateways.registry.reconciler import Reconciler
from gateways.runtime import GatewayRuntime
from gateways.settings import Settings


class _SnapshotReconciler(Reconciler):
    """Configures every gateway's delivery as usual, runs no source, keeps the snapshot."""

    gateways: tuple[Gateway, ...] = ()

    async def apply(self, gateways: list[Gateway], problems: list[str] | None = None) -> None:
        self.gateways = tuple(gateways)
        await super().apply(gateways, problems)


class CalendarFunctionApp(CalendarFunction):
    def __init__(self, settings: Settings | None = None, clock: Clock | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self.runtime = GatewayRuntime(self.settings, accept=lambda kind: False)
        usual = self.runtime.reconciler
        snapshot = _SnapshotReconciler(
            usual.context,
            usual.dispatcher,
            {},
            extra_watchers=usual.extra_watchers,
            accept=lambda kind: False,
            max_in_flight=usual.max_in_flight,
            on_change=usual.on_change,
        )
        self.runtime.reconciler = snapshot
        super().__init__(
            lambda: snapshot.gateways,
            self.runtime.dispatcher,
            state_store_for(self.settings),
            clock,
        )

    async def startup(self) -> None:
        await self.runtime.start()

    async def shutdown(self) -> None:
        await self.runtime.stop()
