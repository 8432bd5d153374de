"""Where a process's sources hand their raw events: a sink.

Two kinds of sink exist. The in-process :class:`~gateways.dispatch.Dispatcher` builds each
CloudEvent and delivers it to the gateway's watchers (the embedded default, the functions, an
adapter in direct mode). The :class:`~gateways.adapter.invoker.DispatcherInvoker` sends the raw
events to the dispatcher function over HTTP (a deployed adapter); the watchers are then the
dispatcher function's business, not this process's.
"""

from __future__ import annotations

from typing import Protocol

from gateways.registry.model import Gateway
from gateways.source import Emit, Origin


class Sink(Protocol):
    async def configure(self, gateway: Gateway) -> str:
        """Take in the gateway's delivery settings; the reason its sources cannot run, or ""."""

    async def forget(self, gateway: str) -> None:
        """The gateway left the registry."""

    def emitter(self, origin: Origin) -> Emit:
        """The ``emit`` a source gets: returns once its event is safe, else raises."""

    async def close(self) -> None: ...
