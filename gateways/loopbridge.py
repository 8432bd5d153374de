"""Hand-offs from a blocking client library's thread to the event loop.

pika, paho-mqtt, kafka-python and the Kubernetes and MinIO clients run their I/O on threads of
their own; everything they report reaches the sources' event loop through these helpers, and
:func:`run_blocking` runs one such connection as a supervisor session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)


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


async def run_blocking(
    name: str,
    work: Callable[[Callable[[], None]], str | None],
    connected: Callable[[], None],
    interrupt: Callable[[asyncio.Future[str | None]], Awaitable[None]],
    join_within: float = 5.0,
) -> str | None:
    """A supervisor session whose connection lives on a thread of its own.

    ``work(ready)`` runs on a new daemon thread named ``name``: it connects, calls ``ready()``
    once it takes messages, and returns why the connection ended (or raises what ended it).
    ``ready()`` reaches ``connected`` on the event loop, unless the session was cancelled by
    then. Cancelled (the source stops): ``interrupt(ended)`` tells the thread to end and may
    wait on ``ended`` for a delivery to finish; the thread then gets ``join_within`` seconds,
    and one that has not ended is logged and left (it is a daemon).
    """
    loop = asyncio.get_running_loop()
    ended: asyncio.Future[str | None] = loop.create_future()
    cancelled = False

    def on_loop() -> None:
        if not cancelled:  # a cancelled session stays unconnected
            connected()

    def run() -> None:
        reason: str | None = None
        error: BaseException | None = None
        try:
            reason = work(lambda: post(loop, on_loop))
        except BaseException as exc:
            error = exc
        post(loop, settle, ended, reason, error)

    threading.Thread(target=run, name=name, daemon=True).start()
    try:
        return await asyncio.shield(ended)
    except asyncio.CancelledError:
        cancelled = True
        ended.add_done_callback(_retrieve)  # how it ended no longer matters
        await interrupt(ended)
        if not ended.done():
            await asyncio.wait({ended}, timeout=join_within)
        if not ended.done():
            log.warning("%s: the thread did not end in time", name)
        raise


def _retrieve(future: asyncio.Future[str | None]) -> None:
    if not future.cancelled():
        future.exception()
