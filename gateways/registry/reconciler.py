"""Turn registry snapshots into running sources: diff by content hash, start what is new,
stop what is gone, restart what changed.

Each source is handled on its own: a source whose config is invalid is ``rejected`` with the
reason; one whose create or start raises anything is ``failed`` with the reason and tried
again with backoff (until the registry changes it); every other source proceeds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from gateways.config import parse_source
from gateways.config.common import Backoff
from gateways.config.server import SERVER_ANNOTATION
from gateways.errors import ConfigError, GatewayError
from gateways.kinds import Kind, SourceContext
from gateways.registry.model import Entry, Gateway
from gateways.registry.status import SourceStatus, State
from gateways.sink import Sink
from gateways.source import Origin, Source

log = logging.getLogger(__name__)
Key = tuple[str, str]  # (gateway, source name)
# Between tries of a source whose start failed: 1 s, doubling, at most a minute.
REMOVED = "removed from the registry"
START_RETRY = Backoff(timedelta(seconds=1), 2.0, 0.2, 0, timedelta(seconds=60))


class Ownership(Protocol):
    """Which exclusive sources this replica runs (``gateways.replicas.coordinator.Replicas``)."""

    identity: str
    start_source: Callable[[Key], Awaitable[None]] | None
    stop_source: Callable[[Key, str], Awaitable[None]] | None
    on_holders: Callable[[], None]

    def want(self, keys: Iterable[Key]) -> None: ...

    def owns(self, key: Key) -> bool: ...

    def holder(self, key: Key) -> str: ...


class RemoteRouting(Protocol):
    """Which entries run on an event-source server (``gateways.adapter.remote.RemoteServers``)."""

    def kind_for(self, entry: Entry) -> Kind | None: ...

    def parse(self, entry: Entry) -> Any: ...

    async def close(self) -> None: ...


@dataclass
class _Running:
    entry: Entry
    source: Source


class Reconciler:
    def __init__(
        self,
        context: SourceContext,
        sink: Sink,
        kinds: Mapping[str, Kind],
        accept: Callable[[str], bool] = lambda kind: True,
        on_change: Callable[[SourceStatus], None] | None = None,
        parse: Callable[[Entry], Any] | None = None,
        start_retry: Backoff = START_RETRY,
        remote: RemoteRouting | None = None,
        exclusive: Callable[[str], bool] | None = None,
    ) -> None:
        self.context = context
        self.sink = sink
        self.kinds = kinds
        self.accept = accept
        # Told of every status set (e.g. to record Kubernetes Events); must not block.
        self.on_change = on_change
        # How an entry becomes the config its kind gets (the adapter's client passes the text on).
        self.parse = parse or parse_entry
        self.start_retry = start_retry
        # Sources whose gateway names an event-source server (None: this process runs none).
        self.remote = remote
        # Kinds with one active consumer per source; with replicas, only the owner runs one.
        self.exclusive = exclusive or (lambda kind: _declared_exclusive(kinds, kind))
        self.replicas: Ownership | None = None
        self._wanted: dict[Key, Entry] = {}
        self._refused: dict[str, str] = {}
        self.running: dict[Key, _Running] = {}
        self.statuses: dict[Key, SourceStatus] = {}
        self.registry_problems: list[str] = []
        self.snapshot: tuple[Gateway, ...] = ()  # the last registry snapshot applied
        self._gateways: set[str] = set()
        self._starting: dict[Key, tuple[str, str]] = {}  # statuses told while start() runs
        self._retries: dict[Key, tuple[Entry, asyncio.Task[None]]] = {}
        self._lock = asyncio.Lock()
        context.on_status = self._on_source_status

    def share(self, replicas: Ownership) -> None:
        """Run exclusive sources only while ``replicas`` says this replica owns them."""
        self.replicas = replicas
        replicas.start_source = self._acquired
        replicas.stop_source = self._released
        replicas.on_holders = self._show_owners

    def _standby(self, key: Key) -> bool:
        """True for an exclusive source another replica runs (or none yet)."""
        entry = self._wanted.get(key)
        if self.replicas is None or entry is None or not self.exclusive(entry.kind):
            return False
        return not self.replicas.owns(key)

    async def _acquired(self, key: Key) -> None:
        async with self._lock:
            entry = self._wanted.get(key)
            if entry is None or key in self.running or key in self._retries:
                return
            if self._standby(key):  # lost again while waiting for the lock
                return
            if entry.gateway in self._refused:
                self._set(entry, "rejected", self._refused[entry.gateway])
                return
            await self._start(entry)

    async def _released(self, key: Key, why: str) -> None:
        """Stop it here (another replica starts it once the lease is released)."""
        async with self._lock:
            if key in self._retries:
                self._retries.pop(key)[1].cancel()
            if key in self.running:
                await self._stop(key, why, "standby")
            entry = self._wanted.get(key)
            if entry is not None:
                self._set(entry, "standby", why)

    def _show_owners(self) -> None:
        """Standby statuses name the replica that runs each source now."""
        replicas = self.replicas
        for key, status in list(self.statuses.items()):
            entry = self._wanted.get(key)
            if replicas is None or entry is None or status.state != "standby":
                continue
            if self._standby(key) and status.owner != replicas.holder(key):
                self._set(entry, "standby", status.reason)

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
                reason = await self._configure(gateway)
                if reason:
                    refused[gateway.name] = reason
                if self.accept(gateway.kind):
                    wanted.update({(gateway.name, e.name): e for e in gateway.entries.values()})
            for key in [k for k, r in self.running.items() if wanted.get(k) != r.entry]:
                await self._stop(key, REMOVED if key not in wanted else "config changed")
            for key in [k for k in self._retries if wanted.get(k) != self._retries[k][0]]:
                self._retries.pop(key)[1].cancel()
            for key in [k for k in self.statuses if k not in wanted]:
                del self.statuses[key]
            self._wanted, self._refused = wanted, refused
            if self.replicas is not None:
                self.replicas.want(k for k, e in wanted.items() if self.exclusive(e.kind))
            for name in self._gateways - {gateway.name for gateway in gateways}:
                await self.sink.forget(name)
            self._gateways = {gateway.name for gateway in gateways}
            for key, entry in wanted.items():
                if key in self.running or key in self._retries:
                    continue
                if self._standby(key):
                    self._set(entry, "standby", "owned by another replica")
                    continue
                if entry.gateway in refused:
                    self._set(entry, "rejected", refused[entry.gateway])
                    continue
                await self._start(entry)

    def report_problems(self, problems: list[str]) -> None:
        """Problems of a registry edit that was not applied at all (shown on the status page)."""
        self.registry_problems = list(problems)

    async def _configure(self, gateway: Gateway) -> str:
        try:
            return await self.sink.configure(gateway)
        except Exception as exc:  # a sink's bug must not stop the registry from applying
            log.exception("configmap/%s: delivery settings not applied", gateway.name)
            return f"configmap/{gateway.name}: delivery settings not applied: {exc}"

    async def _start(self, entry: Entry, tries: int = 0) -> None:
        key = (entry.gateway, entry.name)
        routing = self.remote
        remote = routing.kind_for(entry) if routing is not None else None
        kind = remote or self.kinds.get(entry.kind)
        reason = ""
        if remote is None and entry.server is not None:
            reason = (
                f"{entry.label}: its gateway names an event-source server ({SERVER_ANNOTATION});"
                " this process runs built-in sources only: run its adapter"
                f" (python -m gateways.adapter {entry.kind}) or `gateways up`"
            )
        elif kind is None:
            reason = (
                f"{entry.label}: no runtime for kind {entry.kind!r} in this process (a custom"
                f" kind runs on its own event-source server: name it in {SERVER_ANNOTATION})"
            )
        if kind is None or reason:
            self._set(entry, "rejected", reason)
            return
        parse = routing.parse if routing is not None and remote is not None else self.parse
        try:
            config = parse(entry)
        except ConfigError as exc:
            self._set(entry, "rejected", str(exc))
            log.error("rejected %s", exc, extra=_fields(entry))
            return
        except Exception as exc:
            self._failed(entry, tries, f"{entry.label}: config not read: {_describe(exc)}")
            return
        self._set(entry, "starting")
        self._starting[key] = ("running", "")
        source: Source | None = None
        try:
            source = kind.create(entry.origin, config, self.context)
            await source.start(self.sink.emitter(entry.origin))
        except Exception as exc:
            self._starting.pop(key, None)
            if source is not None:
                await _quietly_stop(source)
            self._failed(entry, tries, f"{entry.label}: {_describe(exc)}")
            return
        state, reason = self._starting.pop(key, ("running", ""))
        self.running[key] = _Running(entry, source)
        self._set(entry, state, reason, address=str(getattr(source, "address", None) or ""))  # type: ignore[arg-type]
        log.info("started %s/%s", entry.gateway, entry.label, extra=_fields(entry))

    def _failed(self, entry: Entry, tries: int, reason: str) -> None:
        """Mark the source failed and try it again after the start backoff."""
        delay = self.start_retry.delay(min(tries, 30))
        log.error("failed to start %s; trying again in %.1fs", reason, delay, extra=_fields(entry))
        self._set(entry, "failed", f"{reason}; trying again in {delay:.0f}s")
        key = (entry.gateway, entry.name)
        retry = asyncio.create_task(self._start_later(entry, tries + 1, delay))
        self._retries[key] = (entry, retry)

    async def _start_later(self, entry: Entry, tries: int, delay: float) -> None:
        await asyncio.sleep(delay)
        async with self._lock:
            key = (entry.gateway, entry.name)
            if key in self._retries and self._retries[key][0] == entry:
                del self._retries[key]
                if not self._standby(key):
                    await self._start(entry, tries)

    async def _stop(self, key: Key, why: str, state: State = "stopped") -> None:
        running = self.running.pop(key)
        await _quietly_stop(running.source)
        removed = getattr(running.source, "removed", None)
        if why == REMOVED and removed is not None:  # not a change, not shutting down
            try:
                await removed()
            except Exception:
                log.exception("%s/%s: clean-up after removal failed", key[0], running.entry.label)
        self._set(running.entry, state, why)
        log.info(
            "stopped %s/%s: %s", key[0], running.entry.label, why, extra=_fields(running.entry)
        )

    async def close(self) -> None:
        async with self._lock:
            for _, retry in self._retries.values():
                retry.cancel()
            self._retries.clear()
            for key in list(self.running):
                await self._stop(key, "shutting down")
            if self.remote is not None:
                await self.remote.close()
            await self.sink.close()

    def status(self) -> list[SourceStatus]:
        return sorted(self.statuses.values(), key=lambda s: (s.gateway, s.name))

    def _set(self, entry: Entry, state: State, reason: str = "", address: str = "") -> None:
        key = (entry.gateway, entry.name)
        owner = ""
        if self.replicas is not None and self.exclusive(entry.kind):
            owner = self.replicas.holder(key)
        status = SourceStatus.now(
            entry.gateway, entry.name, entry.kind, state, reason, address, owner
        )
        self.statuses[(entry.gateway, entry.name)] = status
        if self.on_change is not None:
            try:
                self.on_change(status)
            except Exception:  # a status subscriber must never disturb reconciling
                log.exception("status subscriber failed for %s/%s", entry.gateway, entry.label)

    def _on_source_status(self, origin: Origin, state: str, reason: str) -> None:
        if state not in ("running", "degraded", "failed"):
            return
        key = (origin.gateway, origin.source)
        if key in self._starting:  # told during start(): the state it starts in
            self._starting[key] = (state, reason)
            return
        running = self.running.get(key)
        if running is not None:
            previous = self.statuses.get(key)
            address = previous.address if previous else ""
            self._set(running.entry, state, reason, address)  # type: ignore[arg-type]


def _fields(entry: Entry) -> dict[str, str]:
    """The source's fields of a log record (JSON logs show them)."""
    return {"gateway": entry.gateway, "source": entry.name, "kind": entry.kind}


def _declared_exclusive(kinds: Mapping[str, Kind], kind: str) -> bool:
    return bool(getattr(kinds.get(kind), "exclusive", False))


def parse_entry(entry: Entry) -> Any:
    """The entry's config, parsed and validated by its kind's schema (ConfigError otherwise)."""
    return parse_source(entry.kind, entry.name, entry.value)


def _describe(exc: BaseException) -> str:
    """Our own and the OS's errors speak for themselves; anything else also names its type."""
    text = str(exc).strip()
    if isinstance(exc, GatewayError | OSError | ValueError) and text:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def _quietly_stop(source: Source) -> None:
    try:
        await source.stop()
    except Exception:  # a source failing to stop must not stop the others
        log.exception("error while stopping a source")
