"""The deployed calendar function: the registry, each gateway's watchers, and the state store.

``gateways serve calendar`` (and the OpenFaaS / functions-framework bridges) build it from
settings. It runs no source: the registry is watched only to know the calendar sources and
where each gateway delivers; ticks fire when a cron trigger invokes :meth:`handle`.
"""

from __future__ import annotations

from functions.calendar.source import Clock, state_store_for
from functions.calendar.trigger import CalendarFunction
from gateways.runtime import GatewayRuntime
from gateways.settings import Settings


class CalendarFunctionApp(CalendarFunction):
    def __init__(self, settings: Settings | None = None, clock: Clock | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self.runtime = GatewayRuntime(self.settings, accept=lambda kind: False)
        reconciler = self.runtime.reconciler
        super().__init__(
            lambda: reconciler.snapshot,
            self.runtime.dispatcher,
            state_store_for(self.settings),
            clock,
        )

    async def startup(self) -> None:
        await self.runtime.start()

    async def shutdown(self) -> None:
        await self.runtime.stop()
