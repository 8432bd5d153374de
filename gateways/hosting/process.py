"""The one process main: ``gateways up``, ``gateways serve NAME`` and every adapter run here.

A process is a :class:`Service` (start, stop). :func:`run_process` sets up logging (text or
JSON, :mod:`gateways.logs`) and, when configured, OpenTelemetry spans; starts the service,
tunes the collector for serving, waits for SIGINT/SIGTERM and stops it gracefully
(in-flight work finishes). Bad settings or a port already taken end the process with one line
naming the problem and exit status 2, never a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from gateways import logs, settings, tracing
from gateways.errors import GatewayError, SettingsError
from gateways.hosting.gc import tune_for_serving

log = logging.getLogger(__name__)


class Service(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


def configure_logging(level: str, log_format: str | None = None) -> None:
    """Logging in ``log_format``; when not given, as ``GATEWAYS_LOG_FORMAT`` says."""
    logs.configure(level, log_format or settings.log_format(os.environ))


def run_process(
    name: str,
    build: Callable[[], Service],
    log_level: str = "INFO",
    started: Callable[[Service], None] = lambda service: None,
    log_format: str | None = None,
) -> int:
    """Run the service ``build()`` makes until a signal; the process's exit status."""
    try:
        configure_logging(log_level, log_format)
        # Spans only when the OpenTelemetry environment names an exporter.
        tracing.configure_from_env(os.environ, name)
        run = event_loop_runner(settings.event_loop(os.environ))
        run(serve(build, started))
    except (GatewayError, OSError) as exc:  # bad settings, or a port already taken
        _report(f"{name}: {exc}")
        return 2
    except KeyboardInterrupt:
        return 130
    finally:
        tracing.disable()  # exports the spans still held
    return 0


def event_loop_runner(choice: str) -> Callable[[Coroutine[Any, Any, Any]], Any]:
    """``asyncio.run`` on uvloop (libuv: cheaper I/O and scheduling; docs/benchmarks.md has the
    figures) or on the standard loop. ``auto`` takes uvloop when it is installed (a dependency
    wherever uvloop is built)."""
    if choice != "asyncio":
        try:
            import uvloop
        except ImportError:
            if choice == "uvloop":
                raise SettingsError("GATEWAYS_EVENT_LOOP", "uvloop is not installed") from None
        else:
            return uvloop.run
    return asyncio.run


def _report(problem: str) -> None:
    """One line naming the problem: a JSON log record when the logs are JSON."""
    if any(isinstance(h.formatter, logs.JsonFormatter) for h in logging.getLogger().handlers):
        log.error("%s", problem)
    else:
        print(problem, file=sys.stderr)


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
