"""The AMQP floors: minimal pika consumers that POST each message body to the watcher.

Both use pika's ``AsyncioConnection`` on the same event loop as aiohttp (no thread), one
channel with ``basic_qos(prefetch_count=128)``, and ``basic_consume`` on a queue the bench
declared; each delivery starts a task that waits for one of 64 slots and POSTs the body.

``fire URL QUEUE WATCHER``: ``auto_ack=True``; a refused or failed POST loses the message.

``alo URL QUEUE WATCHER``: manual acks: a 2xx answer acks the delivery (``basic_ack``), anything
else nacks it with ``requeue=True`` so the broker delivers it again. At least once: a message
is acked only after the watcher took it.

Run by bench.streams as ``python -m bench.streams.floor_amqp MODE URL QUEUE WATCHER``.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import pika
from pika.adapters.asyncio_connection import AsyncioConnection

from bench.streams.floorkit import IN_FLIGHT, post, session, spawn

PREFETCH = 128


async def consume(url: str, queue: str, watcher: str, ack: bool) -> None:
    loop = asyncio.get_running_loop()
    closed: asyncio.Future[object] = loop.create_future()
    slots = asyncio.Semaphore(IN_FLIGHT)
    async with session() as client:

        async def deliver(channel: Any, tag: int, body: bytes) -> None:
            async with slots:
                taken = await post(client, watcher, body)
            if ack and taken:
                channel.basic_ack(tag)
            elif ack:
                channel.basic_nack(tag, requeue=True)

        def on_message(channel: Any, method: Any, properties: Any, body: bytes) -> None:
            spawn(deliver(channel, method.delivery_tag, body))

        def on_channel(channel: Any) -> None:
            channel.basic_qos(prefetch_count=PREFETCH)
            channel.basic_consume(queue, on_message, auto_ack=not ack)

        def on_close(connection: Any, reason: object) -> None:
            if not closed.done():
                closed.set_result(reason)

        AsyncioConnection(
            pika.URLParameters(url),
            on_open_callback=lambda connection: connection.channel(on_open_callback=on_channel),
            on_open_error_callback=on_close,
            on_close_callback=on_close,
            custom_ioloop=loop,
        )
        raise SystemExit(f"amqp connection closed: {await closed}")


if __name__ == "__main__":
    mode, url, queue, watcher = sys.argv[1:]
    asyncio.run(consume(url, queue, watcher, ack=mode == "alo"))
