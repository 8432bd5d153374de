"""The runtime table of source kinds, read from the ``gateways.kinds`` entry points.

Each entry point names a :class:`Kind`: the object that turns a validated config into a running
:class:`~gateways.source.Source`. The core finds functions and adapters only through this
table, so nothing in the core imports them.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Protocol

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


@functools.cache
def kinds() -> dict[str, Kind]:
    """Every installed kind that loads, by name; one that fails to import is logged and left out,
    so its sources are rejected while every other kind runs."""
    table: dict[str, Kind] = {}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            table[point.name] = point.load()
        except Exception:
            log.exception("source kind %r (%s) failed to load", point.name, point.value)
    return table
