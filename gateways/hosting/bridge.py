"""Run a FunctionApp behind synchronous entry points (OpenFaaS python3-http, functions-framework).

Both runtimes are Flask-based and call a plain function per request, on worker threads. The
bridge owns one event loop in a background thread, starts the app on it once, and hands each
request to it, so connections and registry watches live as long as the process.

``GET /readyz`` answers 200 once the app has started (it starts it), so a readiness probe
(of-watchdog's ``ready_path``) holds traffic back until the function can take it.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any
from urllib.parse import urlencode

from gateways.function import FunctionApp, Request, Response


class SyncBridge:
    def __init__(self, factory: Callable[[], FunctionApp], timeout: float = 300.0) -> None:
        self._factory = factory
        self._timeout = timeout
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._app: FunctionApp | None = None

    def start(self) -> None:
        """Start the app now (else on the first request)."""
        self._started()

    def handle(self, request: Request) -> Response:
        loop, app = self._started()
        future: Future[Response] = asyncio.run_coroutine_threadsafe(app.handle(request), loop)
        return future.result(self._timeout)

    def close(self) -> None:
        with self._lock:
            if self._loop is None or self._app is None:
                return
            asyncio.run_coroutine_threadsafe(self._app.shutdown(), self._loop).result(30)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._loop = self._app = None

    def _started(self) -> tuple[asyncio.AbstractEventLoop, FunctionApp]:
        with self._lock:
            if self._loop is None or self._app is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="gateways-loop", daemon=True).start()
                app = self._factory()
                asyncio.run_coroutine_threadsafe(app.startup(), loop).result(60)
                self._loop, self._app = loop, app
                atexit.register(self.close)
            return self._loop, self._app


READY_PATH = "/readyz"


def _ready(bridge: SyncBridge, method: str, path: str) -> Response | None:
    """The answer to a readiness probe, or None for any other request."""
    if method.upper() != "GET" or path != READY_PATH:
        return None
    bridge.start()
    return Response.json(200, {"ready": True})


def request_from_parts(
    method: str, path: str, headers: Mapping[str, Any], body: bytes | str | None, query: str
) -> Request:
    """A Request from the pieces a Flask-based runtime exposes."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    return Request(
        method=method.upper(),
        path=path or "/",
        headers={str(k).lower(): str(v) for k, v in headers.items()},
        body=body or b"",
        query=query,
    )


def openfaas_handle(bridge: SyncBridge, event: Any, context: Any) -> dict[str, Any]:
    """The OpenFaaS ``python3-http`` contract: ``event`` has body/headers/method/query/path."""
    query = getattr(event, "query", None) or {}
    if isinstance(query, Mapping):
        multi = getattr(query, "getlist", None) is not None  # werkzeug MultiDict keeps repeats
        pairs = query.items(multi=True) if multi else query.items()  # type: ignore[call-arg]
        raw_query = urlencode(list(pairs))
    else:
        raw_query = str(query)
    response = _ready(bridge, event.method, event.path) or bridge.handle(
        request_from_parts(event.method, event.path, event.headers or {}, event.body, raw_query)
    )
    return {
        "statusCode": response.status,
        "body": response.body.decode("utf-8", errors="replace"),
        "headers": dict(response.headers),
    }


def flask_handle(bridge: SyncBridge, flask_request: Any) -> tuple[bytes, int, dict[str, str]]:
    """A functions-framework HTTP target: a Flask request in, a Flask response tuple out."""
    response = _ready(bridge, flask_request.method, flask_request.path) or bridge.handle(
        request_from_parts(
            flask_request.method,
            flask_request.path,
            dict(flask_request.headers),
            flask_request.get_data(),
            flask_request.query_string.decode("latin-1"),
        )
    )
    return response.body, response.status, dict(response.headers)
