"""What every floor consumer shares: one aiohttp session of 64 keep-alive connections, a POST
that says whether the watcher took the message (2xx), and tasks kept until they finish.

This is plain aiohttp use, the same for each floor, so each floor's own file shows only what
its broker client adds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import aiohttp

IN_FLIGHT = 64  # POSTs at once, in every floor
HEADERS = {"content-type": "application/json"}
_tasks: set[asyncio.Task[None]] = set()


def session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=IN_FLIGHT))


async def post(client: aiohttp.ClientSession, url: str, body: bytes) -> bool:
    """POST ``body`` to ``url``; True on a 2xx answer, False on any other or no answer."""
    try:
        async with client.post(url, data=body, headers=HEADERS) as reply:
            await reply.read()
            return 200 <= reply.status < 300
    except (TimeoutError, aiohttp.ClientError):
        return False


def spawn(work: Coroutine[Any, Any, None]) -> None:
    task = asyncio.create_task(work)
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
