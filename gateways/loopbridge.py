"""Hand-offs from a blocking client library's thread to the event loop.

pika, paho-mqtt, kafka-python and the Kubernetes and MinIO clients run their I/O on threads of
their own; everything they report reaches the sources' event loop through these helpers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from gateways.config.common import Backoff
from gateways.errors import GatewayError


def post(loop: asyncio.AbstractEventLoop, callback: Callable[..., Any], *args: Any) -> None:
    """Run ``callback(*args)`` on ``loop`` soon; a loop already closed (shutdown) is ignored."""
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(callback, *args)


def settle(
    future: asyncio.Future[Any], value: Any = None, error: BaseException | None = None
) -> None:
    """Complete ``future`` once: with ``error`` if given, else with ``value``."""
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


class StartReporter:
    """A client thread's connection outcomes, told to the event loop.

    The first outcome answers the source's ``start()`` (through ``ready``): connected, refused
    for good (start raises), or failed for now (start returns, the source shows degraded and
    retries). Every later outcome is a status change.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        ready: asyncio.Future[None],
        on_status: Callable[[str, str], None],
    ) -> None:
        self.loop = loop
        self.ready = ready
        self.on_status = on_status
        self.answered = False

    def connected(self, reason: str) -> None:
        if self.answered:
            post(self.loop, self.on_status, "running", reason)
        else:
            self.answered = True
            post(self.loop, settle, self.ready)

    def failed(self, reason: str, *, permanent: bool, failures: int, backoff: Backoff) -> bool:
        """Report a failed connection (``failures`` before it); True: stop trying."""
        if not self.answered:
            self.answered = True
            if permanent:
                post(self.loop, settle, self.ready, None, GatewayError(reason))
                return True
            post(self.loop, self._started_degraded, reason)
        else:
            post(self.loop, self.on_status, "degraded", reason)
        if backoff.exhausted(failures):
            post(self.loop, self.on_status, "failed", f"{reason}; gave up after {failures} retries")
            return True
        return False

    def _started_degraded(self, reason: str) -> None:
        # On the loop: let start() return first, so the source is registered when it reports.
        settle(self.ready)
        self.loop.call_soon(self.on_status, "degraded", reason)
