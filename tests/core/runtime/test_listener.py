"""The HTTP listener every function is served by: body limits that mean what they say, client
mistakes answered 4xx with one warning line, and deadlines on slow clients."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import aiohttp
import pytest

from gateways.function import Request, Response
from gateways.hosting import server
from gateways.hosting.server import Listener


class Echo:
    """Answers with the size of the body it got; its limit is 3 MiB."""

    async def startup(self) -> None: ...

    async def shutdown(self) -> None: ...

    def body_limit(self, method: str, path: str) -> int:
        return 3 << 20

    async def handle(self, request: Request) -> Response:
        return Response(200, str(len(request.body)).encode())


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    serving = Listener(Echo())
    await serving.start()
    yield serving
    await serving.stop()


async def raw(listener: Listener, request: bytes, *, close: bool = True) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
    writer.write(request)
    await writer.drain()
    async with asyncio.timeout(10):
        answer = await reader.read() if close else await reader.readuntil(b"\r\n\r\n")
    writer.close()
    return answer


async def test_bodies_over_1_mib_are_honoured_with_and_without_content_length(
    listener: Listener,
) -> None:
    body = b"a" * (1536 * 1024)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    async with aiohttp.ClientSession() as session:
        async with session.post(listener.url, data=body) as sized:
            assert (sized.status, await sized.text()) == (200, str(len(body)))
        async with session.post(listener.url, data=chunks()) as chunked:
            assert (chunked.status, await chunked.text()) == (200, str(len(body)))
        too_large = b"a" * ((3 << 20) + 1)
        async with session.post(listener.url, data=too_large) as refused:
            assert refused.status == 413


async def test_a_header_that_is_not_utf8_is_a_400_and_one_warning(
    listener: Listener, caplog: pytest.LogCaptureFixture
) -> None:
    request = b"POST /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\nce-id: \xff\r\n"
    answer = await raw(listener, request + b"Content-Length: 0\r\n\r\n")
    assert answer.split(b"\r\n")[0].endswith(b" 400 Bad Request")
    assert b"header ce-id: not UTF-8 text" in answer
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert caplog.records[0].exc_info is None


async def test_a_malformed_request_is_a_400_and_a_warning_without_traceback(
    listener: Listener, caplog: pytest.LogCaptureFixture
) -> None:
    answer = await raw(listener, b"POST /x HTTP/1.1\r\nHost: a\r\nce-id: \x00\r\n\r\n")
    assert answer.split(b"\r\n")[0].endswith(b" 400 Bad Request")
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert errors == []
    assert any("malformed request answered 400" in r.getMessage() for r in caplog.records)


async def test_a_client_gone_mid_body_is_one_warning(
    listener: Listener, caplog: pytest.LogCaptureFixture
) -> None:
    _, writer = await asyncio.open_connection("127.0.0.1", listener.port)
    writer.write(b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nabc")
    await writer.drain()
    writer.close()
    async with asyncio.timeout(5):
        while not any("request body not read" in r.getMessage() for r in caplog.records):
            await asyncio.sleep(0.02)
    assert all(r.levelno == logging.WARNING and not r.exc_info for r in caplog.records)


async def test_slow_request_headers_are_cut_off(
    listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server, "HEADER_TIMEOUT", 0.3)
    slow = Listener(Echo())
    await slow.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", slow.port)
        writer.write(b"POST /x HTTP/1.1\r\nHost: a\r\n")  # and never the rest
        await writer.drain()
        started = asyncio.get_running_loop().time()
        async with asyncio.timeout(5):
            assert await reader.read() == b""  # closed without an answer
        assert asyncio.get_running_loop().time() - started < 2.0
        writer.close()
    finally:
        await slow.stop()


async def test_a_body_that_never_ends_is_a_408(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server, "BODY_TIMEOUT", 0.3)
    slow = Listener(Echo())
    await slow.start()
    try:
        request = b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc"
        answer = await raw(slow, request, close=False)
        assert answer.startswith(b"HTTP/1.1 408")
    finally:
        await slow.stop()
