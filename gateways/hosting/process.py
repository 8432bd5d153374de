"""The one process main: ``gateways up``, ``gateways serve NAME`` and every adapter run here.

A process is a :class:`Service` (start, stop). :func:`run_process` sets up logging, starts the
service, tunes the collector for serving, waits for SIGINT/SIGTERM and stops it gracefully
(in-flight work finishes). Bad settings or a port already taken end the process with one line
naming the problem and exit status 2, never a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Callable
from typing import Protocol

from gateways.errors import GatewayError
from gateways.hosting.gc import tune_for_serving

log = logging.getLogger(__name__)


class Service(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def run_process(
    name: str,
    build: Callable[[], Service],
    log_level: str = "INFO",
    started: Callable[[Service], None] = lambda service: None,
) -> int:
    """Run the service ``build()`` makes until a signal; the process's exit status."""
    configure_logging(log_level)
    try:
        asyncio.run(serve(build, started))
    except (GatewayError, OSError) as exc:  # bad settings, or a port already taken
        print(f"{name}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


async def serve(build: Callable[[], Service], started: Callable[[Service], None]) -> None:
    service = build()
    await service.start()
    tune_for_serving()
    try:
        started(service)
        await wait_for_signal()
    finally:
        await service.stop()


async def wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
