"""Hand-offs from a blocking client library's thread to the event loop.

pika, paho-mqtt, kafka-python and the Kubernetes and MinIO clients run their I/O on threads of
their own; everything they report reaches the sources' event loop through these helpers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any


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
