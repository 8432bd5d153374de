"""The in-process sink: raw events in, CloudEvents out to each gateway's watchers.

Each gateway's watchers and delivery spec come from its ConfigMap's annotations, plus the
process's own watchers (``GATEWAYS_WATCHERS``, ``K_SINK``); ``configure`` (re)builds its
deliverer when they change. Every event it dispatches, and what became of it, goes to its
:class:`~gateways.observe.recent.Recorder` (the status page and ``gateways tail`` read it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from gateways.delivery import Deliverer, DeliveryReport, DeliverySpec, Watcher, parse_watchers
from gateways.errors import ConfigError, DeliveryError, GatewayError
from gateways.events import CloudEvent, build
from gateways.observe.recent import Recorder
from gateways.registry.model import Gateway
from gateways.source import Emit, Origin, RawEvent


class UnknownGatewayError(GatewayError, LookupError):
    def __init__(self, gateway: str) -> None:
        self.gateway = gateway
        super().__init__(f"gateway {gateway!r} has no watchers configured")


def delivery_settings(gateway: Gateway) -> tuple[list[Watcher], DeliverySpec]:
    """The watchers and delivery spec a ConfigMap's annotations name; ConfigError listing every
    problem of both."""
    label = f"configmap/{gateway.name}"
    problems: list[str] = []
    watchers: list[Watcher] = []
    spec = DeliverySpec()
    try:
        watchers = list(parse_watchers(gateway.watchers, label=f"{label}: watchers"))
    except ConfigError as exc:
        problems.extend(exc.problems)
    try:
        spec = DeliverySpec.parse(gateway.delivery, label=f"{label}: delivery")
    except ConfigError as exc:
        problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    return watchers, spec


class Dispatcher:
    """Builds each raw event with the one builder and delivers it with its gateway's deliverer.

    ``overrides`` are the ``K_CE_OVERRIDES`` extensions, applied to every event. ``watchers``
    are the process's own, added to every gateway's and used for events of a gateway the
    registry does not name (a pass-through CloudEvent without ``?gateway=``).
    """

    def __init__(
        self,
        overrides: Mapping[str, str] | None = None,
        watchers: Sequence[Watcher] = (),
        *,
        max_in_flight: int = 256,
        connections: int = 64,
        default: Deliverer | None = None,
        recorder: Recorder | None = None,
    ) -> None:
        self.recorder = recorder if recorder is not None else Recorder()
        self.overrides = dict(overrides or {})
        self.watchers = tuple(watchers)
        self.max_in_flight = max_in_flight
        self.connections = connections
        if default is None and self.watchers:
            default = self._deliverer(self.watchers, DeliverySpec())
        self.default = default
        self._deliverers: dict[str, Deliverer] = {}
        self._digests: dict[str, str] = {}

    async def configure(self, gateway: Gateway) -> str:
        """(Re)build the gateway's deliverer when its watchers or delivery spec changed."""
        if self._digests.get(gateway.name) == gateway.delivery_digest:
            return ""
        label = f"configmap/{gateway.name}"
        try:
            watchers, spec = delivery_settings(gateway)
        except ConfigError as exc:
            return str(exc)
        watchers.extend(w for w in self.watchers if w not in watchers)
        if not watchers:
            return (
                f"{label}: no watchers (set the gateways.dev/watchers"
                " annotation, GATEWAYS_WATCHERS or K_SINK)"
            )
        old = self.set_deliverer(gateway.name, self._deliverer(watchers, spec))
        if old is not None:
            await old.close()
        self._digests[gateway.name] = gateway.delivery_digest
        return ""

    async def forget(self, gateway: str) -> None:
        self.recorder.forget(gateway)
        self._digests.pop(gateway, None)
        old = self._deliverers.pop(gateway, None)
        if old is not None:
            await old.close()

    def _deliverer(self, watchers: Sequence[Watcher], spec: DeliverySpec) -> Deliverer:
        return Deliverer(
            watchers, spec, max_in_flight=self.max_in_flight, connections=self.connections
        )

    def set_deliverer(self, gateway: str, deliverer: Deliverer) -> Deliverer | None:
        """Route ``gateway``'s events to ``deliverer``; returns the one it replaces."""
        previous = self._deliverers.get(gateway)
        self._deliverers[gateway] = deliverer
        return previous

    def deliverer(self, gateway: str) -> Deliverer:
        deliverer = self._deliverers.get(gateway) or self.default
        if deliverer is None:
            raise UnknownGatewayError(gateway)
        return deliverer

    def build(self, origin: Origin, raw: RawEvent) -> CloudEvent:
        return build(raw, origin, self.overrides)

    async def dispatch(self, origin: Origin, raw: RawEvent) -> tuple[CloudEvent, DeliveryReport]:
        log = self.recorder.received(origin)
        event = None
        try:
            event = self.build(origin, raw)
            report = await self.deliverer(origin.gateway).deliver(event)
        except BaseException as exc:  # cancelled too: it is no longer in flight
            self.recorder.failed(log, event, exc)
            raise
        self.recorder.finished(log, event, report)
        return event, report

    def emitter(self, origin: Origin) -> Emit:
        """The ``emit`` a source gets: returns once delivered or dead-lettered, else raises."""

        async def emit(raw: RawEvent) -> None:
            event, report = await self.dispatch(origin, raw)
            if not report.ok:
                raise DeliveryError(event.id, report.failures())

        return emit

    async def close(self) -> None:
        self.recorder.close()
        seen = {id(d): d for d in [*self._deliverers.values(), self.default] if d is not None}
        for deliverer in seen.values():
            await deliverer.close()
        self._deliverers.clear()
        self._digests.clear()
