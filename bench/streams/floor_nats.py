"""The NATS floors: minimal nats-py consumers that POST each message body to the watcher.

``fire URL SUBJECT WATCHER``: a core NATS subscription (client-side pending limit raised so
nothing is dropped); nats-py calls back message by message, each callback waits for one of 64
slots and starts the POST as a task. No acks: a refused or failed POST loses the message.

``alo URL SUBJECT STREAM DURABLE WATCHER``: a JetStream durable pull consumer (explicit acks,
created on first use) fetching as many messages as there are free slots of 64 (a 5 s long poll,
as our source does), each POSTed as a task; a 2xx answer acks it, anything else naks it with a
0.1 s delay so JetStream redelivers it. At least once: a message is acked only after the
watcher took it. Acks are sent without waiting for the server's reply (nats-py's ``ack``).

Run by bench.streams as ``python -m bench.streams.floor_nats MODE ...``.
"""

from __future__ import annotations

import asyncio
import sys

import nats
import nats.errors
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig

from bench.streams.floorkit import IN_FLIGHT, post, session, spawn


async def fire(url: str, subject: str, watcher: str) -> None:
    slots = asyncio.Semaphore(IN_FLIGHT)
    async with session() as client:

        async def deliver(msg: Msg) -> None:
            try:
                await post(client, watcher, msg.data)
            finally:
                slots.release()

        async def on_message(msg: Msg) -> None:
            await slots.acquire()
            spawn(deliver(msg))

        connection = await nats.connect(url)
        await connection.subscribe(subject, cb=on_message, pending_msgs_limit=10_000_000)
        await asyncio.Event().wait()


async def alo(url: str, subject: str, stream: str, durable: str, watcher: str) -> None:
    slots = asyncio.Semaphore(IN_FLIGHT)
    async with session() as client:

        async def deliver(msg: Msg) -> None:
            try:
                if await post(client, watcher, msg.data):
                    await msg.ack()
                else:
                    await msg.nak(delay=0.1)
            finally:
                slots.release()

        connection = await nats.connect(url)
        config = ConsumerConfig(durable_name=durable, ack_policy=AckPolicy.EXPLICIT)
        pull = await connection.jetstream().pull_subscribe(
            subject, durable=durable, stream=stream, config=config
        )
        while True:
            await slots.acquire()  # fetch as many as there are free slots, at least one
            room = 1
            while room < IN_FLIGHT and not slots.locked():
                await slots.acquire()
                room += 1
            try:
                batch = await pull.fetch(room, timeout=5.0)
            except nats.errors.TimeoutError:
                batch = []
            for msg in batch:
                spawn(deliver(msg))
            for _ in range(room - len(batch)):
                slots.release()


if __name__ == "__main__":
    mode, *arguments = sys.argv[1:]
    asyncio.run(fire(*arguments) if mode == "fire" else alo(*arguments))
