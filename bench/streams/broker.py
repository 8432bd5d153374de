"""What the run needs of a broker: a fresh channel per path, and a paced publisher.

A :class:`Channel` is what one path consumes (a NATS subject, a Kafka topic and group, an AMQP
exchange and queue), named uniquely per run so reruns never meet old messages. Its
``publish`` sends messages ``{"n": <number>, "sent": <unix time>}`` either all at once (no rate)
or paced: every 2 ms whatever is due at ``rate`` per second (late chunks go out at once).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

SERVICES_ENV = Path("/tmp/gateways-services/env.json")
TICK = 0.002


class Unavailable(Exception):
    """The broker cannot be used here; the text says why."""


class Channel(Protocol):
    kind: str

    def floor(self, mode: str, watcher: str) -> list[str]:
        """The command line of the floor consumer for ``mode`` (fire or alo)."""

    def source(self) -> dict[str, Any]:
        """Our registry source consuming this channel at least once."""

    async def publish(self, first: int, count: int, rate: float | None) -> float:
        """Publishes ``count`` messages numbered from ``first``; the time the first was sent."""


class Broker(Protocol):
    kind: str
    title: str

    async def channel(self, path: str) -> Channel: ...

    async def close(self) -> None: ...


def body(number: int) -> bytes:
    return b'{"n": %d, "sent": %.6f}' % (number, time.time())


def service_setting(name: str) -> str:
    """A test-service address: the environment, else scripts/services' env.json."""
    if os.environ.get(name):
        return os.environ[name]
    try:
        value = json.loads(SERVICES_ENV.read_text()).get(name)
    except (OSError, ValueError):
        value = None
    if not value:
        raise Unavailable(f"{name} is not set and not in {SERVICES_ENV} (scripts/services up)")
    return str(value)


def schedule(first: int, count: int, rate: float | None) -> Iterator[tuple[float, range]]:
    """(seconds from the start at which it is due, the numbers to send then)."""
    if rate is None:
        yield 0.0, range(first, first + count)
        return
    chunk, done = 0, 0
    while done < count:
        upto = min(count, math.ceil((chunk + 1) * TICK * rate))
        if upto > done:
            yield chunk * TICK, range(first + done, first + upto)
            done = upto
        chunk += 1


def publish_blocking(
    send: Callable[[int], None], first: int, count: int, rate: float | None
) -> float:
    """Runs :func:`schedule` with a blocking ``send`` (call it on a thread)."""
    started, origin = time.time(), time.monotonic()
    for due, numbers in schedule(first, count, rate):
        wait = origin + due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        for number in numbers:
            send(number)
    return started


async def publish_async(
    send: Callable[[int], Any], first: int, count: int, rate: float | None
) -> float:
    """Runs :func:`schedule` with an async ``send``."""
    started, origin = time.time(), time.monotonic()
    for due, numbers in schedule(first, count, rate):
        wait = origin + due - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        for number in numbers:
            await send(number)
    return started
