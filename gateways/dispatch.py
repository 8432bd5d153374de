"""Raw events in, CloudEvents out to each gateway's watchers: the path every source shares."""

from __future__ import annotations

from collections.abc import Mapping

from gateways.delivery import Deliverer, DeliveryReport
from gateways.errors import DeliveryError, GatewayError
from gateways.events import CloudEvent, build
from gateways.source import Emit, Origin, RawEvent


class UnknownGatewayError(GatewayError, LookupError):
    def __init__(self, gateway: str) -> None:
        self.gateway = gateway
        super().__init__(f"gateway {gateway!r} has no watchers configured")


class Dispatcher:
    """Builds each raw event with the one builder and delivers it with its gateway's deliverer.

    ``overrides`` are the ``K_CE_OVERRIDES`` extensions, applied to every event.
    """

    def __init__(
        self,
        overrides: Mapping[str, str] | None = None,
        default: Deliverer | None = None,
    ) -> None:
        self.overrides = dict(overrides or {})
        self.default = default
        self._deliverers: dict[str, Deliverer] = {}

    def set_deliverer(self, gateway: str, deliverer: Deliverer) -> Deliverer | None:
        """Route ``gateway``'s events to ``deliverer``; returns the one it replaces."""
        previous = self._deliverers.get(gateway)
        self._deliverers[gateway] = deliverer
        return previous

    def remove_deliverer(self, gateway: str) -> Deliverer | None:
        return self._deliverers.pop(gateway, None)

    def deliverer(self, gateway: str) -> Deliverer:
        deliverer = self._deliverers.get(gateway) or self.default
        if deliverer is None:
            raise UnknownGatewayError(gateway)
        return deliverer

    def build(self, origin: Origin, raw: RawEvent) -> CloudEvent:
        return build(raw, origin, self.overrides)

    async def dispatch(self, origin: Origin, raw: RawEvent) -> tuple[CloudEvent, DeliveryReport]:
        event = self.build(origin, raw)
        return event, await self.deliverer(origin.gateway).deliver(event)

    def emitter(self, origin: Origin) -> Emit:
        """The ``emit`` a source gets: returns once delivered or dead-lettered, else raises."""

        async def emit(raw: RawEvent) -> None:
            event, report = await self.dispatch(origin, raw)
            if not report.ok:
                raise DeliveryError(event.id, report.failures())

        return emit

    async def close(self) -> None:
        seen = {id(d): d for d in [*self._deliverers.values(), self.default] if d is not None}
        for deliverer in seen.values():
            await deliverer.close()
        self._deliverers.clear()
