"""The runtime table of source kinds, read from the ``gateways.kinds`` entry points.

Each entry point names a :class:`Kind`: the object that turns a validated config into a running
:class:`~gateways.source.Source`. The core finds functions and adapters only through this
table, so nothing in the core imports them.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from gateways import entrypoints
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

    def resource(self, key: str, factory: Any) -> Any:
        if key not in self.resources:
            self.resources[key] = factory()
        return self.resources[key]


class Kind(Protocol):
    name: str

    def create(self, origin: Origin, config: Any, context: SourceContext) -> Source:
        """A source for one validated config; it starts nothing until ``start``."""


class KindTable(Mapping[str, Kind]):
    """The installed kinds, each imported on first use: a webhook function never pays for
    the Kafka or Kubernetes clients. A kind that fails to import is logged and missing, so
    its sources are rejected while every other kind runs."""

    def __init__(self) -> None:
        self._points = entrypoints.group(ENTRY_POINT_GROUP)
        self._loaded: dict[str, Kind | None] = {}

    def __getitem__(self, name: str) -> Kind:
        if name not in self._loaded:
            point = self._points[name]
            try:
                self._loaded[name] = point.load()
            except Exception:
                log.exception("source kind %r (%s) failed to load", name, point.value)
                self._loaded[name] = None
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
