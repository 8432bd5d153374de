"""Turn registry snapshots into running sources: diff by content hash, start what is new,
stop what is gone, restart what changed. A bad source is rejected with its reason; the rest run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gateways.config import parse_source
from gateways.delivery import Deliverer, DeliverySpec, Watcher, parse_watchers
from gateways.dispatch import Dispatcher
from gateways.errors import ConfigError, GatewayError
from gateways.kinds import Kind, SourceContext
from gateways.registry.model import Entry, Gateway
from gateways.registry.status import SourceStatus, State
from gateways.source import Origin, Source

log = logging.getLogger(__name__)
Key = tuple[str, str]  # (gateway, source name)


@dataclass
class _Running:
    entry: Entry
    source: Source


class Reconciler:
    def __init__(
        self,
        context: SourceContext,
        dispatcher: Dispatcher,
        kinds: Mapping[str, Kind],
        extra_watchers: tuple[Watcher, ...] = (),
        accept: Callable[[str], bool] = lambda kind: True,
        max_in_flight: int = 256,
        on_change: Callable[[SourceStatus], None] | None = None,
        parse: Callable[[Entry], Any] | None = None,
    ) -> None:
        self.context = context
        self.dispatcher = dispatcher
        self.kinds = kinds
        self.extra_watchers = extra_watchers
        self.accept = accept
        self.max_in_flight = max_in_flight
        # Told of every status set (e.g. to record Kubernetes Events); must not block.
        self.on_change = on_change
        # How an entry becomes the config its kind gets (the adapter's client passes the text on).
        self.parse = parse or parse_entry
        self.running: dict[Key, _Running] = {}
        self.statuses: dict[Key, SourceStatus] = {}
        self.registry_problems: list[str] = []
        self.snapshot: tuple[Gateway, ...] = ()  # the last registry snapshot applied
        self._delivery_digests: dict[str, str] = {}
        self._lock = asyncio.Lock()
        context.on_status = self._on_source_status

    async def apply(self, gateways: list[Gateway], problems: list[str] | None = None) -> None:
        """Make the running sources match ``gateways`` (one full registry snapshot)."""
        async with self._lock:
            self.registry_problems = list(problems or [])
            self.snapshot = tuple(gateways)
            for problem in self.registry_problems:
                log.error("registry: %s", problem)
            wanted: dict[Key, Entry] = {}
            refused: dict[str, str] = {}
            for gateway in gateways:
                reason = await self._configure_delivery(gateway)
                if reason:
                    refused[gateway.name] = reason
                if not self.accept(gateway.kind):
                    continue
                wanted.update({(gateway.name, e.name): e for e in gateway.entries.values()})
            for key in [k for k, r in self.running.items() if wanted.get(k) != r.entry]:
                await self._stop(
                    key, "removed from the registry" if key not in wanted else "config changed"
                )
            for key in [k for k in self.statuses if k not in wanted]:
                del self.statuses[key]
            for name in [
                g for g in self._delivery_digests if g not in {gw.name for gw in gateways}
            ]:
                del self._delivery_digests[name]
                old = self.dispatcher.remove_deliverer(name)
                if old is not None:
                    await old.close()
            for key, entry in wanted.items():
                if key in self.running:
                    continue
                if entry.gateway in refused:
                    self._set(entry, "rejected", refused[entry.gateway])
                    continue
                await self._start(entry)

    async def _configure_delivery(self, gateway: Gateway) -> str:
        """(Re)build the gateway's deliverer when its watchers or delivery spec changed."""
        if self._delivery_digests.get(gateway.name) == gateway.delivery_digest:
            return ""
        label = f"configmap/{gateway.name}"
        try:
            watchers = list(parse_watchers(gateway.watchers, label=f"{label}: watchers"))
            spec = DeliverySpec.parse(gateway.delivery, label=f"{label}: delivery")
        except ConfigError as exc:
            return str(exc)
        watchers.extend(w for w in self.extra_watchers if w not in watchers)
        if not watchers:
            return (
                f"configmap/{gateway.name}: no watchers (set the gateways.dev/watchers"
                " annotation, GATEWAYS_WATCHERS or K_SINK)"
            )
        deliverer = Deliverer(watchers, spec, max_in_flight=self.max_in_flight)
        old = self.dispatcher.set_deliverer(gateway.name, deliverer)
        if old is not None:
            await old.close()
        self._delivery_digests[gateway.name] = gateway.delivery_digest
        return ""

    async def _start(self, entry: Entry) -> None:
        kind = self.kinds.get(entry.kind)
        if kind is None:
            self._set(
                entry,
                "rejected",
                f"{entry.label}: no runtime for kind {entry.kind!r} in this process",
            )
            return
        try:
            config = self.parse(entry)
        except ConfigError as exc:
            self._set(entry, "rejected", str(exc))
            log.error("rejected %s", exc)
            return
        source = kind.create(entry.origin, config, self.context)
        self._set(entry, "starting")
        try:
            await source.start(self.dispatcher.emitter(entry.origin))
        except (GatewayError, OSError, ValueError) as exc:
            reason = f"{entry.label}: {exc}"
            log.error("failed to start %s", reason)
            self._set(entry, "failed", reason)
            await _quietly_stop(source)
            return
        self.running[(entry.gateway, entry.name)] = _Running(entry, source)
        self._set(entry, "running", address=str(getattr(source, "address", None) or ""))
        log.info("started %s/%s", entry.gateway, entry.label)

    async def _stop(self, key: Key, why: str) -> None:
        running = self.running.pop(key)
        await _quietly_stop(running.source)
        self._set(running.entry, "stopped", why)
        log.info("stopped %s/%s: %s", key[0], running.entry.label, why)

    async def close(self) -> None:
        async with self._lock:
            for key in list(self.running):
                await self._stop(key, "shutting down")
            await self.dispatcher.close()

    def status(self) -> list[SourceStatus]:
        return sorted(self.statuses.values(), key=lambda s: (s.gateway, s.name))

    def _set(self, entry: Entry, state: State, reason: str = "", address: str = "") -> None:
        status = SourceStatus.now(entry.gateway, entry.name, entry.kind, state, reason, address)
        self.statuses[(entry.gateway, entry.name)] = status
        if self.on_change is not None:
            try:
                self.on_change(status)
            except Exception:  # a status subscriber must never disturb reconciling
                log.exception("status subscriber failed for %s/%s", entry.gateway, entry.label)

    def _on_source_status(self, origin: Origin, state: str, reason: str) -> None:
        key = (origin.gateway, origin.source)
        running = self.running.get(key)
        if running is not None and state in ("running", "degraded", "failed"):
            previous = self.statuses.get(key)
            address = previous.address if previous else ""
            self._set(running.entry, state, reason, address)  # type: ignore[arg-type]


def parse_entry(entry: Entry) -> Any:
    """The entry's config, parsed and validated by its kind's schema (ConfigError otherwise)."""
    return parse_source(entry.kind, entry.name, entry.value)


async def _quietly_stop(source: Source) -> None:
    try:
        await source.stop()
    except Exception:  # a source failing to stop must not stop the others
        log.exception("error while stopping a source")
