"""The AMQP source's connection against real RabbitMQ: lost and re-established without losing
a message (connections forced closed, the broker restarted), refused for good at start (bad
credentials, an exchange declared otherwise), and retried while the broker is unreachable."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pika
import pytest

from adapters.streams.amqp.source import KIND
from gateways.errors import GatewayError
from tests.kinds.amqp.rabbit import Broker, Names, numbers, publish, rabbitmqctl, source_config
from tests.kit import Pipeline, free_port, payload_number, wait_until
from tests.servicekit import AmqpService
from tests.watcher import RecordingWatcher

pytestmark = [pytest.mark.amqp, pytest.mark.timeout(120)]


def _states(pipeline: Pipeline) -> set[str]:
    return {state for state, _ in pipeline.statuses}


async def test_connection_forced_closed_mid_stream_loses_nothing(
    amqp_service: AmqpService, make_watcher: Any, names: Names
) -> None:
    watcher = await make_watcher(delay=0.002)
    async with Pipeline(watcher) as pipeline:
        config = source_config(amqp_service.url, names)
        source = KIND.create(pipeline.origin("amqp"), config, pipeline.context)
        await source.start(pipeline.emitter("amqp"))
        try:
            await asyncio.to_thread(publish, amqp_service.url, names.exchange, numbers(range(600)))
            await wait_until(lambda: len(pipeline.accepted()) >= 100, 20)
            # Every client connection dropped (CONNECTION_FORCED), as at the start of a restart.
            await asyncio.to_thread(rabbitmqctl, "close_all_connections", "test")
            await wait_until(lambda: "degraded" in _states(pipeline), 20)
            events = await pipeline.wait_for_unique(600, timeout=40)
            await wait_until(lambda: pipeline.statuses[-1][0] == "running", 10)
        finally:
            await source.stop()
    assert sorted(payload_number(e) for e in events.values()) == list(range(600))
    assert any("CONNECTION_FORCED" in reason for state, reason in pipeline.statuses)


# Stopping and starting the node waits for the lock scripts/services shares with every other
# service start, which can take minutes while other tests start servers.
@pytest.mark.timeout(240)
async def test_broker_restart_mid_stream_loses_nothing(
    amqp_service: AmqpService, make_watcher: Any, names: Names, broker: Broker
) -> None:
    """The shared RabbitMQ node stopped and started again (scripts/services, same ports and
    data): persistent messages in the durable queue survive, and the source reconnects and
    delivers every one."""
    watcher = await make_watcher(delay=0.002)
    persistent = numbers(range(600), delivery_mode=pika.DeliveryMode.Persistent)
    async with Pipeline(watcher) as pipeline:
        config = source_config(amqp_service.url, names)
        source = KIND.create(pipeline.origin("amqp"), config, pipeline.context)
        await source.start(pipeline.emitter("amqp"))
        try:
            await asyncio.to_thread(publish, amqp_service.url, names.exchange, persistent)
            await wait_until(lambda: len(pipeline.accepted()) >= 100, 20)
            await broker.down()
            try:
                await wait_until(lambda: "degraded" in _states(pipeline), 20)
            finally:
                await broker.up()
            events = await pipeline.wait_for_unique(600, timeout=60)
            await wait_until(lambda: pipeline.statuses[-1][0] == "running", 20)
        finally:
            await source.stop()
    assert sorted(payload_number(e) for e in events.values()) == list(range(600))


async def test_wrong_password_fails_the_start(
    amqp_service: AmqpService, watcher: RecordingWatcher, names: Names, monkeypatch: Any
) -> None:
    monkeypatch.setenv("GW_TEST_AMQP_PASSWORD", "wrong")
    url = f"amqp://{amqp_service.host}:{amqp_service.port}/%2F"
    auth = {"username": amqp_service.user, "password": {"env": "GW_TEST_AMQP_PASSWORD"}}
    async with Pipeline(watcher) as pipeline:
        config = source_config(url, names, auth=auth)
        source = KIND.create(pipeline.origin("amqp"), config, pipeline.context)
        with pytest.raises(GatewayError, match=r"Authentication|ACCESS_REFUSED|403"):
            await source.start(pipeline.emitter("amqp"))
        await source.stop()
    assert pipeline.statuses == []  # refused for good: no retries in the background


async def test_an_exchange_declared_otherwise_fails_the_start(
    amqp_service: AmqpService, watcher: RecordingWatcher, names: Names
) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(amqp_service.url))
    connection.channel().exchange_declare(names.exchange, "fanout", durable=True)
    connection.close()
    async with Pipeline(watcher) as pipeline:
        config = source_config(amqp_service.url, names)  # a topic exchange
        source = KIND.create(pipeline.origin("amqp"), config, pipeline.context)
        with pytest.raises(GatewayError, match=r"406 PRECONDITION_FAILED.*exchange"):
            await source.start(pipeline.emitter("amqp"))
        await source.stop()
    assert pipeline.statuses == []


async def test_unreachable_broker_is_degraded_and_retried_until_stopped(
    watcher: RecordingWatcher, names: Names
) -> None:
    url = f"amqp://guest:secret@127.0.0.1:{free_port()}/%2F"  # nothing listens there
    async with Pipeline(watcher) as pipeline:
        source = KIND.create(pipeline.origin("amqp"), source_config(url, names), pipeline.context)
        await source.start(pipeline.emitter("amqp"))  # returns: the first attempt failed
        try:
            await wait_until(lambda: len(pipeline.statuses) >= 3, 10, pipeline.statuses)
        finally:
            began = time.monotonic()
            await source.stop()
            stopped_within = time.monotonic() - began
    assert _states(pipeline) == {"degraded"}
    _, reason = pipeline.statuses[0]
    assert "127.0.0.1" in reason and "Connection refused" in reason and "reconnecting in" in reason
    assert "secret" not in reason  # the URL is redacted
    assert stopped_within < 5
