"""Run until SIGINT/SIGTERM, then shut down gracefully (in-flight requests finish)."""

from __future__ import annotations

import asyncio
import logging
import signal

from gateways.function import FunctionApp
from gateways.hosting.gc import tune_for_serving
from gateways.hosting.server import Listener
from gateways.settings import Settings

log = logging.getLogger(__name__)


async def wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()


async def serve_function(app: FunctionApp, settings: Settings) -> None:
    """Host one function on ``settings.host:settings.port``."""
    await app.startup()
    listener = Listener(app, settings.host, settings.port)
    await listener.start()
    tune_for_serving()
    log.info("serving %s on %s", type(app).__name__, listener.url)
    try:
        await wait_for_signal()
    finally:
        await listener.stop()
        await app.shutdown()
