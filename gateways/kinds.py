"""The runtime table of source kinds, read from the ``gateways.kinds`` entry points.

Each kind is one package (``config.py``, ``source.py``, ``message.py`` and its client) that
declares itself once, in its ``source.py``::

    KIND = SourceKind(name="nats", config=NATSConfig, create=NATSSource)

The entry point names that object; it is the only registration. The core finds functions and
adapters only through this table, so nothing in the core imports them.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, Self, TypeVar

from gateways import entrypoints
from gateways.config.fields import Fields
from gateways.source import Origin, Source

ENTRY_POINT_GROUP = "gateways.kinds"
log = logging.getLogger(__name__)


@dataclass
class SourceContext:
    """What a running process shares with the sources it starts.

    ``resource(key, factory)`` hands out one shared object per key (for example the HTTP
    listener that several webhook sources on one port share), created on first use.
    """

    settings: Any
    resources: dict[str, Any] = field(default_factory=dict)
    # Called by a running source when its health changes (e.g. broker lost, reconnected).
    on_status: Callable[[Origin, str, str], None] = lambda origin, state, reason: None

    @property
    def max_in_flight(self) -> int:
        return int(getattr(self.settings, "max_in_flight", 256))

    def resource(self, key: str, factory: Any) -> Any:
        if key not in self.resources:
            self.resources[key] = factory()
        return self.resources[key]


class SourceConfig(Protocol):
    """What every kind's config class offers: a parser over :class:`Fields`."""

    @classmethod
    def parse(cls, fields: Fields) -> Self: ...


ConfigT = TypeVar("ConfigT")


class Kind(Protocol):
    """What the reconciler needs of a kind: a name and a way to build one source."""

    @property
    def name(self) -> str: ...

    def create(self, origin: Origin, config: Any, context: SourceContext) -> Source:
        """A source for one validated config; it starts nothing until ``start``."""


@dataclass(frozen=True)
class SourceKind(Generic[ConfigT]):
    """A kind's one declaration: its name, its config schema and its source's constructor.

    ``create`` gets the config typed as this kind's own (``ConfigT``), never ``Any``.
    """

    name: str
    config: type[ConfigT]
    create: Callable[[Origin, ConfigT, SourceContext], Source]
    # What serves it when deployed: the webhook function (HTTP-family kinds), the calendar
    # function, or an adapter of its own (``python -m <package>``).
    served_by: Literal["adapter", "webhook", "calendar"] = "adapter"
    # One active consumer per source (a scheduler, a watch, a hook registration): with
    # several replicas only the one holding the source's Lease runs it. Stream kinds stay
    # False: every replica consumes, as competing consumers.
    exclusive: bool = False

    def parse(self, fields: Fields) -> ConfigT:
        parse: Callable[[Fields], ConfigT] = self.config.parse  # type: ignore[attr-defined]
        return parse(fields)


class KindTable(Mapping[str, SourceKind[Any]]):
    """The installed kinds, each imported on first use: a webhook function never pays for
    the Kafka or Kubernetes clients. A kind that fails to import is logged and missing, so
    its sources are rejected while every other kind runs."""

    def __init__(self) -> None:
        self._points = entrypoints.group(ENTRY_POINT_GROUP)
        self._loaded: dict[str, SourceKind[Any] | None] = {}

    def __getitem__(self, name: str) -> SourceKind[Any]:
        if name not in self._loaded:
            point = self._points[name]
            try:
                loaded = point.load()
            except Exception:
                log.exception("source kind %r (%s) failed to load", name, point.value)
                loaded = None
            if loaded is not None and not isinstance(loaded, SourceKind):
                log.error("source kind %r (%s) is not a SourceKind", name, point.value)
                loaded = None
            self._loaded[name] = loaded
        kind = self._loaded[name]
        if kind is None:
            raise KeyError(name)
        return kind

    def __iter__(self) -> Iterator[str]:
        return iter(self._points)

    def __len__(self) -> int:
        return len(self._points)


@functools.cache
def kinds() -> KindTable:
    return KindTable()
