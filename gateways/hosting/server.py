"""Serve a FunctionApp over HTTP with aiohttp (embedded default and container images)."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from aiohttp import ClientPayloadError, web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestHandler

from gateways.function import FunctionApp, Request, Response

DEFAULT_BODY_LIMIT = 10 << 20
# The request line and each header line; larger ones get 400 (aiohttp's defaults, named here).
MAX_LINE = 8190
MAX_FIELD = 8190
MAX_HEADERS = 128
# A connection whose request line and headers take longer than this is closed (slow clients
# must not hold connections); a body that takes longer than BODY_TIMEOUT is answered 408.
HEADER_TIMEOUT = 10.0
BODY_TIMEOUT = 60.0
KEEPALIVE_TIMEOUT = 75.0  # an idle keep-alive connection is closed after this
log = logging.getLogger(__name__)


class _ClientMistakes(logging.Filter):
    """A request aiohttp cannot parse is the client's mistake (it gets a 400): one warning
    line, not an error with a traceback. Failures of the server itself stay errors."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError) and 400 <= (exc.code or 500) < 500:
            reason = (exc.message or type(exc).__name__).strip().splitlines()[0]
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg, record.args = "malformed request answered %d: %s", (exc.code, reason)
            record.exc_info = record.exc_text = None
        return True


_PROTOCOL_LOG = logging.getLogger("gateways.http")
_PROTOCOL_LOG.addFilter(_ClientMistakes())


class _Connection(RequestHandler):
    """aiohttp's connection handler with a deadline on each request's line and headers."""

    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.await_headers(HEADER_TIMEOUT)

    def connection_lost(self, exc: BaseException | None) -> None:
        self.headers_read()
        super().connection_lost(exc)

    def await_headers(self, within: float) -> None:
        loop = asyncio.get_running_loop()
        self._header_timer = loop.call_later(within, self._too_slow, within)

    def headers_read(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_slow(self, within: float) -> None:
        _PROTOCOL_LOG.info("closed a connection that sent no complete request in %gs", within)
        if self.transport is not None:
            self.transport.close()


class _Server(web.Server):
    def __call__(self) -> RequestHandler:
        return _Connection(self, loop=asyncio.get_running_loop(), **self._kwargs)


@runtime_checkable
class BodyLimited(Protocol):
    def body_limit(self, method: str, path: str) -> int:
        """The most bytes a request to ``path`` may carry; larger ones get 413 unread."""


@dataclass
class Listener:
    """One HTTP listener serving one FunctionApp; ``port`` 0 picks a free port."""

    app: FunctionApp
    host: str = "127.0.0.1"
    port: int = 0
    ssl_context: ssl.SSLContext | None = None
    _runner: web.ServerRunner | None = None
    _body_limit: Callable[[str, str], int] | None = None

    async def start(self) -> None:
        # Resolved once: a runtime Protocol check per request costs more than the routing.
        self._body_limit = self.app.body_limit if isinstance(self.app, BodyLimited) else None
        server = _Server(
            self._serve,
            access_log=None,
            logger=_PROTOCOL_LOG,
            keepalive_timeout=KEEPALIVE_TIMEOUT,
            max_line_size=MAX_LINE,
            max_field_size=MAX_FIELD,
            max_headers=MAX_HEADERS,
        )
        self._runner = web.ServerRunner(server, shutdown_timeout=5.0)
        await self._runner.setup()
        site = web.TCPSite(
            self._runner, self.host, self.port, ssl_context=self.ssl_context, reuse_address=True
        )
        await site.start()
        if self.port == 0:
            self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://{self.host}:{self.port}"

    async def _serve(self, http_request: web.BaseRequest) -> web.StreamResponse:
        connection = http_request.protocol
        if isinstance(connection, _Connection):
            connection.headers_read()
        try:
            return await self._answer(http_request)
        finally:
            if isinstance(connection, _Connection) and connection.transport is not None:
                # The next request on this keep-alive connection: idle, then its headers.
                connection.await_headers(KEEPALIVE_TIMEOUT + HEADER_TIMEOUT)

    async def _answer(self, http_request: web.BaseRequest) -> web.StreamResponse:
        headers = {}
        for name, value in http_request.headers.items():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                shown = _printable(name)
                log.warning(
                    "%s: header %s is not UTF-8 text; 400", _printable(http_request.path), shown
                )
                return to_aiohttp(Response.error(400, f"header {shown}: not UTF-8 text"))
            headers[name.lower()] = value
        limit = DEFAULT_BODY_LIMIT
        if self._body_limit is not None:
            limit = self._body_limit(http_request.method, http_request.path)
        length = http_request.content_length
        if length is not None and length > limit:
            return _too_large(limit)
        try:
            async with asyncio.timeout(BODY_TIMEOUT):
                if length == 0 or not http_request.can_read_body:
                    body: bytes | None = b""
                elif length is not None:  # within the limit: read it in one call
                    body = await http_request.content.readexactly(length)
                else:
                    body = await _read_body(http_request, limit)
        except TimeoutError:
            log.warning(
                "%s: request body not read in %gs; 408", _printable(http_request.path), BODY_TIMEOUT
            )
            return to_aiohttp(Response.error(408, f"request body not read in {BODY_TIMEOUT:g}s"))
        except (asyncio.IncompleteReadError, ConnectionError, ClientPayloadError) as exc:
            # The client went away or sent a broken body: its mistake, one line, no traceback.
            log.warning(
                "%s %s: request body not read: %s",
                http_request.method,
                _printable(http_request.path),
                type(exc).__name__,
            )
            return to_aiohttp(Response.error(400, "request body incomplete"))
        if body is None:
            return _too_large(limit)
        request = Request(
            method=http_request.method,
            path=http_request.path,
            headers=headers,
            body=body,
            query=http_request.rel_url.raw_query_string,
        )
        return to_aiohttp(await self.app.handle(request))


async def _read_body(http_request: web.BaseRequest, limit: int) -> bytes | None:
    if not http_request.can_read_body:
        return b""
    chunks, size = [], 0
    async for chunk in http_request.content.iter_chunked(1 << 16):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _printable(text: str) -> str:
    """``text`` safe to log: undecodable bytes and control characters escaped, at most 200."""
    shown = text.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in shown)
    return shown if len(shown) <= 200 else f"{shown[:200]}..."


def _too_large(limit: int) -> web.Response:
    response = Response.error(413, f"payload larger than {limit} bytes")
    return to_aiohttp(response)


def to_aiohttp(response: Response) -> web.Response:
    return web.Response(status=response.status, body=response.body, headers=dict(response.headers))


def server_ssl_context(cert_path: str, key_path: str) -> ssl.SSLContext:
    """A TLS server context; raises OSError / ssl.SSLError naming the unreadable file."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context
