"""Helpers of the AMQP tests against the RabbitMQ node of scripts/services: unique names, a
source config, publishing with confirms, and the broker's own controls (rabbitmqctl, restart)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pika

from adapters.streams.amqp.config import AMQPConfig
from gateways.config import parse_source
from tests.kit import ROOT
from tests.servicekit import state_dir

RABBITMQCTL = "/usr/lib/rabbitmq/bin/rabbitmqctl"
RABBITMQ_NODE = "gateways@localhost"  # scripts/services runs RabbitMQ as this node
RABBITMQ_EPMD_PORT = "34369"

Message = tuple[str, bytes, pika.BasicProperties]  # routing key, body, properties


class Names:
    """An exchange, a queue and a dead-letter exchange and queue no other test uses."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:10]
        self.exchange = f"gw-test-{tag}"
        self.queue = f"gw-test-{tag}"
        self.dead_letters = f"gw-test-{tag}-dlx"

    def delete(self, url: str) -> None:
        connection = pika.BlockingConnection(pika.URLParameters(url))
        channel = connection.channel()
        for queue in (self.queue, self.dead_letters):
            channel.queue_delete(queue)
        for exchange in (self.exchange, self.dead_letters):
            channel.exchange_delete(exchange)
        connection.close()


def source_config(url: str, names: Names, **fields: Any) -> AMQPConfig:
    """A topic exchange bound with ``orders.#`` to a durable named queue, fast backoff."""
    settings = {
        "url": url,
        "exchangeName": names.exchange,
        "exchangeType": "topic",
        "routingKey": "orders.#",
        "queue": {"name": names.queue},
        "prefetch": 50,
        "backoff": {"duration": "50ms", "cap": "500ms"},
        **fields,
    }
    config = parse_source("amqp", "test", settings)
    assert isinstance(config, AMQPConfig)
    return config


def publish(url: str, exchange: str, messages: list[Message]) -> None:
    """Publish with publisher confirms; ``mandatory``: an unroutable message raises."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.confirm_delivery()
    for routing_key, body, properties in messages:
        channel.basic_publish(exchange, routing_key, body, properties, mandatory=True)
    connection.close()


def numbers(numbers: range, **properties: Any) -> list[Message]:
    """``{"n": n}`` as JSON on ``orders.created``, message-id ``order-<n>``."""
    return [
        (
            "orders.created",
            json.dumps({"n": n}).encode(),
            pika.BasicProperties(
                content_type="application/json", message_id=f"order-{n}", **properties
            ),
        )
        for n in numbers
    ]


def queue_depth(url: str, queue: str) -> int:
    """Messages ready in ``queue`` (not counting deliveries a consumer has not acked yet)."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        count: int = connection.channel().queue_declare(queue, passive=True).method.message_count
        return count
    finally:
        connection.close()


def rabbitmqctl(*arguments: str) -> None:
    """Run rabbitmqctl against the RabbitMQ node of scripts/services."""
    assert Path(RABBITMQCTL).exists() and (state_dir() / "amqp").is_dir(), (
        "needs the RabbitMQ node of scripts/services and its rabbitmqctl"
    )
    env = {
        **os.environ,
        "HOME": str(state_dir() / "amqp"),  # where scripts/services keeps the Erlang cookie
        "RABBITMQ_NODENAME": RABBITMQ_NODE,
        "ERL_EPMD_PORT": RABBITMQ_EPMD_PORT,
    }
    command = [RABBITMQCTL, "-q", "-n", RABBITMQ_NODE, *arguments]
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=120)


def services(*arguments: str) -> None:
    """``scripts/services <arguments>`` (e.g. ``down amqp``), as the developer runs it."""
    script = ROOT / "scripts" / "services"
    subprocess.run([sys.executable, str(script), *arguments], check=True, timeout=180)


class Broker:
    """``scripts/services down amqp`` / ``up amqp`` from a test, off the event loop.

    Both wait for the lock ``scripts/services`` shares with every other service start, so they
    can take minutes while other tests start servers. They run on a thread of their own, which a
    test timing out does not stop: :meth:`close` (the ``broker`` fixture's teardown) waits for
    it, then starts the broker again if the test ever stopped it.
    """

    def __init__(self) -> None:
        self.down_requested = False
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="amqp services")

    async def down(self) -> None:
        self.down_requested = True
        await asyncio.wrap_future(self._thread.submit(services, "down", "amqp"))

    async def up(self) -> None:
        await asyncio.wrap_future(self._thread.submit(services, "up", "amqp"))

    def close(self) -> None:
        self._thread.shutdown(wait=True)  # a "down" still waiting for the lock goes first
        if self.down_requested:
            services("up", "amqp")  # whatever the test did: leave the shared broker up
