"""AMQP for a run: the test service's RabbitMQ (GATEWAYS_TEST_AMQP_URL), a fresh topic exchange
and durable queue per path (``bench-<tag>-<path>``, bound with ``bench.#``, deleted at the end).

The bench declares both before the path starts, with the options our source declares them with
(so its own declare is a no-op). The publisher opens a pika ``BlockingConnection`` per publish,
sends transient messages with routing key ``bench.event`` (no publisher confirms), and closes.
Ours and the floors use a prefetch of 128.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Any

import pika
import pika.exceptions

from bench.streams.broker import Unavailable, body, publish_blocking, service_setting

FLOOR = [sys.executable, "-m", "bench.streams.floor_amqp"]
PREFETCH = 128
ROUTING_KEY = "bench.event"
PROPERTIES = pika.BasicProperties(content_type="application/json")


@dataclass
class AMQPChannel:
    url: str
    name: str  # the exchange's and the queue's
    kind: str = "amqp"

    def floor(self, mode: str, watcher: str) -> list[str]:
        return [*FLOOR, mode, self.url, self.name, watcher]

    def source(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "exchangeName": self.name,
            "exchangeType": "topic",
            "routingKey": "bench.#",
            "queue": {"name": self.name},
            "prefetch": PREFETCH,
        }

    async def publish(self, first: int, count: int, rate: float | None) -> float:
        def run() -> float:
            connection = pika.BlockingConnection(pika.URLParameters(self.url))
            channel = connection.channel()
            try:
                return publish_blocking(
                    lambda n: channel.basic_publish(self.name, ROUTING_KEY, body(n), PROPERTIES),
                    first,
                    count,
                    rate,
                )
            finally:
                connection.close()

        return await asyncio.to_thread(run)


class AMQPBroker:
    kind = "amqp"

    def __init__(self, url: str) -> None:
        self.url = url
        self.title = "AMQP (the test service's RabbitMQ, a durable queue per path)"
        self._tag = f"{int(time.time())}-{uuid.uuid4().hex[:6]}"
        self._names: list[str] = []

    @classmethod
    async def open(cls) -> AMQPBroker:
        broker = cls(service_setting("GATEWAYS_TEST_AMQP_URL"))
        try:
            await asyncio.to_thread(broker._call, lambda channel: None)
        except (pika.exceptions.AMQPError, OSError) as exc:
            raise Unavailable(f"RabbitMQ: {type(exc).__name__} {exc}") from None
        return broker

    def _call(self, work: Any) -> None:
        connection = pika.BlockingConnection(pika.URLParameters(self.url))
        try:
            work(connection.channel())
        finally:
            connection.close()

    async def channel(self, path: str) -> AMQPChannel:
        name = f"bench-{self._tag}-{path}"

        def declare(channel: Any) -> None:
            channel.exchange_declare(name, "topic", durable=True)
            channel.queue_declare(name, durable=True)
            channel.queue_bind(name, name, routing_key="bench.#")

        await asyncio.to_thread(self._call, declare)
        self._names.append(name)
        return AMQPChannel(self.url, name)

    async def close(self) -> None:
        def delete(channel: Any) -> None:
            for name in self._names:
                channel.queue_delete(name)
                channel.exchange_delete(name)

        with contextlib.suppress(pika.exceptions.AMQPError, OSError):
            await asyncio.to_thread(self._call, delete)
