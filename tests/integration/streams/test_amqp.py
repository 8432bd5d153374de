"""The AMQP source against real RabbitMQ, delivering through the dispatcher to a real watcher."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pika
import pytest

from adapters.streams.amqp.source import KIND, AMQPSource
from gateways.config import parse_source
from gateways.errors import ConfigError, GatewayError
from tests.kit import GATEWAY, Pipeline, payload_number, wait_until
from tests.servicekit import AmqpService, state_dir
from tests.watcher import RecordingWatcher

pytestmark = [pytest.mark.amqp, pytest.mark.timeout(120)]

RABBITMQCTL = "/usr/lib/rabbitmq/bin/rabbitmqctl"
RABBITMQ_NODE = "gateways@localhost"  # scripts/services runs RabbitMQ as this node
RABBITMQ_EPMD_PORT = "34369"


class Names:
    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:10]
        self.exchange = f"gw-test-{tag}"
        self.queue = f"gw-test-{tag}"
        self.dead_letters = f"gw-test-{tag}-dlx"


@pytest.fixture
def names(amqp_service: AmqpService) -> Iterator[Names]:
    names = Names()
    yield names
    connection = pika.BlockingConnection(pika.URLParameters(amqp_service.url))
    channel = connection.channel()
    for queue in (names.queue, names.dead_letters):
        channel.queue_delete(queue)
    for exchange in (names.exchange, names.dead_letters):
        channel.exchange_delete(exchange)
    connection.close()


def _config(url: str, names: Names, **fields: Any) -> Any:
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
    return parse_source("amqp", "test", settings)


def _publish(
    url: str, exchange: str, messages: list[tuple[str, bytes, pika.BasicProperties]]
) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.confirm_delivery()
    for routing_key, body, properties in messages:
        channel.basic_publish(exchange, routing_key, body, properties, mandatory=True)
    connection.close()


def _numbers(numbers: range, **properties: Any) -> list[tuple[str, bytes, pika.BasicProperties]]:
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


async def test_thousand_messages_become_cloudevents(
    amqp_service: AmqpService, watcher: RecordingWatcher, names: Names
) -> None:
    url = amqp_service.url
    stamp = int(datetime(2024, 5, 1, 12, tzinfo=UTC).timestamp())
    async with Pipeline(watcher) as pipeline:
        source = KIND.create(pipeline.origin("amqp"), _config(url, names), pipeline.context)
        await source.start(pipeline.emitter("amqp"))
        try:
            messages = _numbers(
                range(1000), headers={"tenant": "acme", "attempt": 1}, timestamp=stamp
            )
            messages.append(
                ("orders.anonymous", b"no id", pika.BasicProperties(correlation_id="c-1"))
            )
            await asyncio.to_thread(_publish, url, names.exchange, messages)
            events = await pipeline.wait_for_unique(1001)
        finally:
            await source.stop()
    assert {f"order-{n}" for n in range(1000)} <= set(events)
    first = events["order-0"]
    assert first.attributes["type"] == "dev.gateways.amqp.message"
    assert first.attributes["source"] == f"/gateways/{GATEWAY}/test"
    assert first.attributes["subject"] == "orders.created"
    assert first.attributes["time"] == "2024-05-01T12:00:00Z"
    assert first.attributes["datacontenttype"] == "application/json"
    assert first.json() == {"n": 0}
    assert first.extensions["amqpexchange"] == names.exchange
    assert first.extensions["amqproutingkey"] == "orders.created"
    assert first.extensions["amqpdeliverytag"].isdigit()
    assert first.extensions["amqpredelivered"] == "false"
    assert first.extensions["amqpmessageid"] == "order-0"
    assert json.loads(first.extensions["amqpheaders"]) == {"tenant": "acme", "attempt": 1}
    (anonymous,) = (e for e in events.values() if e.data == b"no id")
    assert uuid.UUID(anonymous.id)  # no message-id: a fresh UUID
    assert anonymous.extensions["amqpcorrelationid"] == "c-1"


async def test_incoming_cloudevent_properties_pass_through(
    amqp_service: AmqpService, watcher: RecordingWatcher, names: Names
) -> None:
    attributes = {
        "specversion": "1.0",
        "id": "upstream-7",
        "source": "/billing",
        "type": "com.example.invoice.paid",
        "subject": "invoice-7",
        "time": "2024-05-01T12:00:00Z",
        "tenant": "acme",
    }
    separators = {"colon": ":", "underscore": "_"}  # AMQP's binding allows both
    messages = [
        (
            "orders.ce",
            b'{"paid": true}',
            pika.BasicProperties(
                content_type="application/json",
                headers={
                    f"cloudEvents{separator}{name}": value
                    for name, value in {**attributes, "id": f"upstream-{label}"}.items()
                },
            ),
        )
        for label, separator in separators.items()
    ]
    async with Pipeline(watcher) as pipeline:
        source = KIND.create(
            pipeline.origin("amqp"), _config(amqp_service.url, names), pipeline.context
        )
        await source.start(pipeline.emitter("amqp"))
        try:
            await asyncio.to_thread(_publish, amqp_service.url, names.exchange, messages)
            events = await pipeline.wait_for_unique(2)
        finally:
            await source.stop()
    for label in separators:
        event = events[f"upstream-{label}"]
        expected = {**attributes, "id": f"upstream-{label}", "datacontenttype": "application/json"}
        assert event.attributes == expected
        assert event.json() == {"paid": True}


async def test_every_message_arrives_after_the_watcher_refused_for_a_while(
    amqp_service: AmqpService, watcher: RecordingWatcher, names: Names
) -> None:
    async with Pipeline(watcher) as pipeline:
        source = KIND.create(
            pipeline.origin("amqp"), _config(amqp_service.url, names), pipeline.context
        )
        await source.start(pipeline.emitter("amqp"))
        try:
            pipeline.refuse()
            await asyncio.to_thread(
                _publish, amqp_service.url, names.exchange, _numbers(range(200))
            )
            await wait_until(lambda: len(watcher.requests) >= 300, 20)
            pipeline.accept()
            events = await pipeline.wait_for_unique(200)
        finally:
            await source.stop()
    assert sorted(payload_number(e) for e in events.values()) == list(range(200))
    assert any(e.extensions["amqpredelivered"] == "true" for e in events.values())


async def test_failed_deliveries_go_to_the_dead_letter_exchange(
    amqp_service: AmqpService, watcher: RecordingWatcher, names: Names
) -> None:
    url = amqp_service.url
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.exchange_declare(names.dead_letters, "fanout")
    channel.queue_declare(names.dead_letters)
    channel.queue_bind(names.dead_letters, names.dead_letters)
    queue = {"name": names.queue, "arguments": {"x-dead-letter-exchange": names.dead_letters}}
    config = _config(url, names, queue=queue, onFailure="deadLetter")
    async with Pipeline(watcher) as pipeline:
        source = KIND.create(pipeline.origin("amqp"), config, pipeline.context)
        await source.start(pipeline.emitter("amqp"))
        try:
            pipeline.refuse()
            await asyncio.to_thread(_publish, url, names.exchange, _numbers(range(20)))

            def dead_lettered() -> bool:
                count: int = channel.queue_declare(
                    names.dead_letters, passive=True
                ).method.message_count
                return count == 20

            await wait_until(dead_lettered, 20)
        finally:
            await source.stop()
            connection.close()
    assert len(watcher.requests) == 20  # each tried once, then dead-lettered, not requeued


async def test_restarting_the_source_mid_stream_loses_nothing(
    amqp_service: AmqpService, make_watcher: Any, names: Names
) -> None:
    watcher = await make_watcher(delay=0.002)
    config = _config(amqp_service.url, names)
    async with Pipeline(watcher) as pipeline:
        first = AMQPSource(pipeline.origin("amqp"), config, pipeline.context)
        await first.start(pipeline.emitter("amqp"))
        publishing = asyncio.create_task(
            asyncio.to_thread(_publish, amqp_service.url, names.exchange, _numbers(range(600)))
        )
        await wait_until(lambda: len(pipeline.accepted()) >= 100, 20)
        await first.stop()
        stopped_at = len(pipeline.accepted())
        await publishing  # the rest waits in the durable queue
        second = AMQPSource(pipeline.origin("amqp"), config, pipeline.context)
        await second.start(pipeline.emitter("amqp"))
        try:
            events = await pipeline.wait_for_unique(600)
        finally:
            await second.stop()
    assert stopped_at < 600
    assert sorted(payload_number(e) for e in events.values()) == list(range(600))


def _rabbitmqctl(*arguments: str) -> None:
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


async def test_connection_forced_closed_mid_stream_loses_nothing(
    amqp_service: AmqpService, make_watcher: Any, names: Names
) -> None:
    watcher = await make_watcher(delay=0.002)
    async with Pipeline(watcher) as pipeline:
        source = KIND.create(
            pipeline.origin("amqp"), _config(amqp_service.url, names), pipeline.context
        )
        await source.start(pipeline.emitter("amqp"))
        try:
            await asyncio.to_thread(
                _publish, amqp_service.url, names.exchange, _numbers(range(600))
            )
            await wait_until(lambda: len(pipeline.accepted()) >= 100, 20)
            # Every client connection dropped (CONNECTION_FORCED), as at the start of a restart.
            await asyncio.to_thread(_rabbitmqctl, "close_all_connections", "test")
            await wait_until(lambda: "degraded" in {s for s, _ in pipeline.statuses}, 20)
            events = await pipeline.wait_for_unique(600, timeout=40)
            await wait_until(lambda: pipeline.statuses[-1][0] == "running", 10)
        finally:
            await source.stop()
    assert sorted(payload_number(e) for e in events.values()) == list(range(600))
    assert any("CONNECTION_FORCED" in reason for state, reason in pipeline.statuses)


async def test_broker_restart_mid_stream_loses_nothing(
    amqp_service: AmqpService, make_watcher: Any, names: Names
) -> None:
    """The shared RabbitMQ node stopped and started again (scripts/services, same ports and
    data): persistent messages in the durable queue survive, and the source reconnects and
    delivers every one."""
    watcher = await make_watcher(delay=0.002)
    persistent = _numbers(range(600), delivery_mode=pika.DeliveryMode.Persistent)
    async with Pipeline(watcher) as pipeline:
        source = KIND.create(
            pipeline.origin("amqp"), _config(amqp_service.url, names), pipeline.context
        )
        await source.start(pipeline.emitter("amqp"))
        try:
            await asyncio.to_thread(_publish, amqp_service.url, names.exchange, persistent)
            await wait_until(lambda: len(pipeline.accepted()) >= 100, 20)
            await asyncio.to_thread(_services, "down", "amqp")
            try:
                await wait_until(lambda: "degraded" in {s for s, _ in pipeline.statuses}, 20)
            finally:
                await asyncio.to_thread(_services, "up", "amqp")
            events = await pipeline.wait_for_unique(600, timeout=60)
            await wait_until(lambda: pipeline.statuses[-1][0] == "running", 20)
        finally:
            await source.stop()
    assert sorted(payload_number(e) for e in events.values()) == list(range(600))


def _services(*arguments: str) -> None:
    script = Path(__file__).resolve().parents[3] / "scripts" / "services"
    subprocess.run([sys.executable, str(script), *arguments], check=True, timeout=180)


async def test_wrong_password_fails_the_start(
    amqp_service: AmqpService, watcher: RecordingWatcher, names: Names, monkeypatch: Any
) -> None:
    monkeypatch.setenv("GW_TEST_AMQP_PASSWORD", "wrong")
    url = f"amqp://{amqp_service.host}:{amqp_service.port}/%2F"
    auth = {"username": amqp_service.user, "password": {"env": "GW_TEST_AMQP_PASSWORD"}}
    async with Pipeline(watcher) as pipeline:
        source = KIND.create(
            pipeline.origin("amqp"), _config(url, names, auth=auth), pipeline.context
        )
        with pytest.raises(GatewayError, match=r"Authentication|ACCESS_REFUSED|403"):
            await source.start(pipeline.emitter("amqp"))
        await source.stop()


def test_bad_config_field_is_named() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_source(
            "amqp", "broken", {"url": "amqp://127.0.0.1", "exchangeName": "x", "prefetch": 0}
        )
    message = str(caught.value)
    assert "amqp/broken: exchangeType:" in message
    assert "amqp/broken: prefetch:" in message
