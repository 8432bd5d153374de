"""The counting watcher every path of a run delivers to, and the bench's client of it.

Server (``python -m bench.streams.watcher PORT``, one aiohttp process): any request outside
``/_*`` is a delivery and is answered 200. A body ``{"n": int, "sent": float}`` whose ``n`` is in
the current window ``[lo, hi)`` is recorded once (repeats are counted, not recorded): its
receipt time and its latency, receipt minus ``sent`` (the publisher's clock: same machine).

Controls: ``POST /_reset?lo=&hi=`` clears everything and sets the window; ``POST /_fail?seconds=``
answers 503 to every delivery for that long (each refused one is counted, none recorded);
``GET /_stats`` gives the counts and the first and last receipt of a new ``n`` (``?latencies``
adds every latency, sorted).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web


@dataclass(slots=True)
class _State:
    lo: int = 0
    hi: int = 0
    seen: set[int] = field(default_factory=set)
    latencies: list[float] = field(default_factory=list)
    requests: int = 0
    refused: int = 0
    first: float | None = None
    last: float | None = None
    failing_until: float = 0.0


def app() -> web.Application:
    state = _State()

    async def deliver(request: web.Request) -> web.Response:
        body = await request.read()
        now = time.time()
        state.requests += 1
        if time.monotonic() < state.failing_until:
            state.refused += 1
            return web.Response(status=503)
        try:
            document = json.loads(body)
            number, sent = int(document["n"]), float(document["sent"])
        except (ValueError, KeyError, TypeError):
            return web.Response(status=200)
        if state.lo <= number < state.hi and number not in state.seen:
            state.seen.add(number)
            state.latencies.append(now - sent)
            state.first = now if state.first is None else state.first
            state.last = now
        return web.Response(status=200)

    async def reset(request: web.Request) -> web.Response:
        state.lo, state.hi = int(request.query["lo"]), int(request.query["hi"])
        state.seen.clear()
        state.latencies.clear()
        state.requests = state.refused = 0
        state.first = state.last = None
        state.failing_until = 0.0
        return web.Response(status=204)

    async def fail(request: web.Request) -> web.Response:
        state.failing_until = time.monotonic() + float(request.query["seconds"])
        return web.Response(status=204)

    async def stats(request: web.Request) -> web.Response:
        document: dict[str, object] = {
            "unique": len(state.seen),
            "requests": state.requests,
            "refused": state.refused,
            "first": state.first,
            "last": state.last,
        }
        if "latencies" in request.query:
            document["latencies"] = sorted(state.latencies)
        return web.json_response(document)

    application = web.Application()
    application.router.add_get("/_stats", stats)
    application.router.add_post("/_reset", reset)
    application.router.add_post("/_fail", fail)
    application.router.add_route("*", "/{tail:.*}", deliver)
    return application


@dataclass(frozen=True, slots=True)
class Stats:
    unique: int
    requests: int
    refused: int
    first: float | None
    last: float | None
    latencies: tuple[float, ...] = ()


class Watcher:
    """The bench's side of the watcher at ``url`` (ending in ``/``)."""

    def __init__(self, url: str, session: aiohttp.ClientSession) -> None:
        self.url = url
        self._session = session

    async def reset(self, lo: int, hi: int) -> None:
        async with self._session.post(f"{self.url}_reset", params={"lo": lo, "hi": hi}) as reply:
            reply.raise_for_status()

    async def fail(self, seconds: float) -> None:
        async with self._session.post(f"{self.url}_fail", params={"seconds": seconds}) as reply:
            reply.raise_for_status()

    async def stats(self, latencies: bool = False) -> Stats:
        query = "?latencies" if latencies else ""
        async with self._session.get(f"{self.url}_stats{query}") as reply:
            document = await reply.json()
        return Stats(
            unique=document["unique"],
            requests=document["requests"],
            refused=document["refused"],
            first=document["first"],
            last=document["last"],
            latencies=tuple(document.get("latencies", ())),
        )

    async def settle(self, count: int, quiet: float, bound: float) -> Stats:
        """Waits until ``count`` distinct messages arrived, or none new came for ``quiet``
        seconds, or ``bound`` seconds passed; the stats then, latencies included."""
        started = last_change = time.monotonic()
        seen = -1
        while True:
            stats = await self.stats()
            now = time.monotonic()
            if stats.unique != seen:
                seen, last_change = stats.unique, now
            if seen >= count or now - last_change > quiet or now - started > bound:
                return await self.stats(latencies=True)
            await asyncio.sleep(0.02)


if __name__ == "__main__":
    web.run_app(app(), host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
