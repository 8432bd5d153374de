"""The status page's routes on the admin port: ``/`` (the page and its two static files) and
``/events/recent`` (recorded events as JSON; with ``after`` and ``wait`` a long poll, which
is how the page and ``gateways tail`` follow the stream).

The page is static HTML and plain JavaScript shipped in ``static/`` (no build step, nothing
fetched from elsewhere); every value it shows is set as text, never as markup, and the
Content-Security-Policy allows no inline script, so event data cannot inject any.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import parse_qs

from gateways.function import Request, Response
from gateways.observe.recent import Recorder
from gateways.observe.render import entry_json
from gateways.source import Origin

MAX_WAIT = 30.0  # seconds a long poll may ask to wait
DEFAULT_LIMIT = 500
MAX_LIMIT = 5000
STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/page.js": ("page.js", "text/javascript; charset=utf-8"),
    "/page.css": ("page.css", "text/css; charset=utf-8"),
}
SAFE_HEADERS = {
    "x-content-type-options": "nosniff",
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
}
PAGE_HEADERS = {
    **SAFE_HEADERS,
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self';"
        " img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "x-frame-options": "DENY",
}


class QueryError(ValueError):
    pass


@cache
def asset(name: str) -> bytes:
    return resources.files("gateways.observe").joinpath("static", name).read_bytes()


def source_filter(wanted: str) -> Callable[[Origin], bool]:
    """``NAME`` matches that source in any gateway, ``GATEWAY/NAME`` one source, "" all."""
    if not wanted:
        return lambda origin: True
    gateway, _, name = wanted.rpartition("/")
    if gateway:
        return lambda origin: origin.gateway == gateway and origin.source == name
    return lambda origin: origin.source == name


class Page:
    def __init__(self, recorder: Recorder | None) -> None:
        self.recorder = recorder

    def serves(self, path: str) -> bool:
        return path in STATIC or path in ("/events/recent", "/favicon.ico")

    async def handle(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return Response(405, b"GET only\n", {"allow": "GET, HEAD"})
        if request.path == "/favicon.ico":  # browsers ask; there is none
            return Response(204, b"", SAFE_HEADERS)
        if request.path in STATIC:
            name, content_type = STATIC[request.path]
            return Response(200, asset(name), {"content-type": content_type, **PAGE_HEADERS})
        try:
            return await self._recent(parse_qs(request.query, keep_blank_values=True))
        except QueryError as exc:
            return Response.json(400, {"error": str(exc)}, SAFE_HEADERS)

    async def _recent(self, query: dict[str, list[str]]) -> Response:
        wanted = _one(query, "source")
        after = _number(query, "after", int, 0, None) or 0
        wait = _number(query, "wait", float, 0.0, MAX_WAIT) or 0.0
        limit = _number(query, "limit", int, 1, MAX_LIMIT) or DEFAULT_LIMIT
        recorder = self.recorder
        document: dict[str, Any] = {"events": [], "next": after, "gaps": []}
        if recorder is None:  # a process whose sink is another process: nothing recorded
            document["recording"] = False
            return Response.json(200, document, SAFE_HEADERS)
        match = source_filter(wanted)
        if wait > 0:
            await recorder.wait(after, match, wait)
        entries, gaps = recorder.since(after, match, limit)
        document["events"] = [entry_json(entry) for entry in entries]
        truncated = after and len(entries) == limit
        document["next"] = entries[-1].seq if truncated else max(after, recorder.seq)
        document["gaps"] = [f"{o.gateway}/{o.source}" for o in gaps]
        return Response.json(200, document, SAFE_HEADERS)


def _one(query: dict[str, list[str]], name: str) -> str:
    values = query.get(name, [])
    if len(values) > 1:
        raise QueryError(f"{name}: given {len(values)} times")
    return values[0] if values else ""


def _number(
    query: dict[str, list[str]],
    name: str,
    kind: type[int] | type[float],
    low: float,
    high: float | None,
) -> Any:
    text = _one(query, name)
    if not text:
        return None
    try:
        value = kind(text)
    except ValueError:
        raise QueryError(f"{name}: {text[:40]!r} is not a number") from None
    if value < low or (high is not None and value > high) or value != value:
        bound = f"from {low:g}" + (f" to {high:g}" if high is not None else " up")
        raise QueryError(f"{name}: {text[:40]!r} is out of range ({bound})")
    return value
