"""Real servers for the request property tests, on a loop of their own in a thread, and a raw
HTTP client that sends any bytes (a real client library would refuse most hostile requests).

Every log record at ERROR or above is kept: a hostile request may be refused, but must never
log an error (that is for the server's own failures).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")


class ErrorLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def take(self) -> list[str]:
        taken = [f"{r.name}: {r.getMessage()}" for r in self.records]
        self.records.clear()
        return taken


class LoopThread:
    """An event loop on a daemon thread; ``run(coro)`` waits for a coroutine's result."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, make: Callable[[], Awaitable[T]], timeout: float = 60.0) -> T:
        async def call() -> T:
            return await make()

        future: Future[T] = asyncio.run_coroutine_threadsafe(call(), self.loop)
        return future.result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def exchange(port: int, request: bytes, timeout: float = 10.0) -> tuple[int | None, bytes]:
    """Send ``request`` as is; the answer's status (None: the server closed without one)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        # No half-close: aiohttp takes EOF as the client gone. The server may answer (413,
        # 400) and close before it read everything.
        with contextlib.suppress(OSError):
            connection.sendall(request)
        chunks: list[bytes] = []
        try:
            while chunk := connection.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:
            pass
    answer = b"".join(chunks)
    if not answer.startswith(b"HTTP/1."):
        return None, answer
    return int(answer.split(b" ", 2)[1]), answer


def http_request(
    method: bytes, path: bytes, headers: list[tuple[bytes, bytes]], body: bytes, chunked: bool
) -> bytes:
    lines = [method + b" " + path + b" HTTP/1.1", b"Host: 127.0.0.1", b"Connection: close"]
    lines += [name + b": " + value for name, value in headers]
    if chunked:
        lines.append(b"Transfer-Encoding: chunked")
        payload = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in _parts(body))
        payload += b"0\r\n\r\n"
    else:
        lines.append(b"Content-Length: %d" % len(body))
        payload = body
    return b"\r\n".join(lines) + b"\r\n\r\n" + payload


def _parts(body: bytes) -> list[bytes]:
    return [body[i : i + 7000] for i in range(0, len(body), 7000)] if body else []


def silence(*_: Any) -> None:
    return None
