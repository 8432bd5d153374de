"""The AMQP source against real RabbitMQ, delivering through the dispatcher to a real watcher:
every message once acked, properties kept, nacks by policy, at most the in-flight bound at once.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pika
import pytest

from adapters.streams.amqp.source import KIND, AMQPSource
from gateways.kinds import SourceContext
from gateways.source import Origin, RawEvent
from tests.kinds.amqp.rabbit import Names, numbers, publish, queue_depth, source_config
from tests.kit import GATEWAY, Pipeline, payload_number, wait_until
from tests.servicekit import AmqpService
from tests.watcher import RecordingWatcher

pytestmark = [pytest.mark.amqp, pytest.mark.timeout(120)]


async def test_thousand_messages_become_cloudevents(
    amqp_service: AmqpService, watcher: RecordingWatcher, names: Names
) -> None:
    url = amqp_service.url
    stamp = int(datetime(2024, 5, 1, 12, tzinfo=UTC).timestamp())
    async with Pipeline(watcher) as pipeline:
        source = KIND.create(pipeline.origin("amqp"), source_config(url, names), pipeline.context)
        await source.start(pipeline.emitter("amqp"))
        try:
            messages = numbers(
                range(1000), headers={"tenant": "acme", "attempt": 1}, timestamp=stamp
            )
            messages.append(
                ("orders.anonymous", b"no id", pika.BasicProperties(correlation_id="c-1"))
            )
            await asyncio.to_thread(publish, url, names.exchange, messages)
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
            pipeline.origin("amqp"), source_config(amqp_service.url, names), pipeline.context
        )
        await source.start(pipeline.emitter("amqp"))
        try:
            await asyncio.to_thread(publish, amqp_service.url, names.exchange, messages)
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
            pipeline.origin("amqp"), source_config(amqp_service.url, names), pipeline.context
        )
        await source.start(pipeline.emitter("amqp"))
        try:
            pipeline.refuse()
            await asyncio.to_thread(publish, amqp_service.url, names.exchange, numbers(range(200)))
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
    config = source_config(url, names, queue=queue, onFailure="deadLetter")
    async with Pipeline(watcher) as pipeline:
        source = KIND.create(pipeline.origin("amqp"), config, pipeline.context)
        await source.start(pipeline.emitter("amqp"))
        try:
            pipeline.refuse()
            await asyncio.to_thread(publish, url, names.exchange, numbers(range(20)))

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


@pytest.mark.parametrize("max_in_flight", [256, 4])  # 4: the pika thread waits for room
async def test_restarting_the_source_mid_stream_loses_nothing(
    amqp_service: AmqpService, make_watcher: Any, names: Names, max_in_flight: int
) -> None:
    watcher = await make_watcher(delay=0.002)
    config = source_config(amqp_service.url, names)
    async with Pipeline(watcher) as pipeline:
        pipeline.context.settings = SimpleNamespace(max_in_flight=max_in_flight)
        first = AMQPSource(pipeline.origin("amqp"), config, pipeline.context)
        await first.start(pipeline.emitter("amqp"))
        publishing = asyncio.create_task(
            asyncio.to_thread(publish, amqp_service.url, names.exchange, numbers(range(600)))
        )
        await wait_until(lambda: len(pipeline.accepted()) >= 100, 20)
        began = time.monotonic()
        await first.stop()
        stopped_within = time.monotonic() - began
        stopped_at = len(pipeline.accepted())
        await publishing  # the rest waits in the durable queue
        second = AMQPSource(pipeline.origin("amqp"), config, pipeline.context)
        await second.start(pipeline.emitter("amqp"))
        try:
            events = await pipeline.wait_for_unique(600)
        finally:
            await second.stop()
    assert stopped_at < 600 and stopped_within < 3
    assert sorted(payload_number(e) for e in events.values()) == list(range(600))


@pytest.mark.parametrize(("max_in_flight", "prefetch", "bound"), [(3, 50, 3), (256, 2, 2)])
async def test_emits_in_flight_are_bounded_by_the_pool_and_prefetch(
    amqp_service: AmqpService, names: Names, max_in_flight: int, prefetch: int, bound: int
) -> None:
    """At most min(GATEWAYS_MAX_IN_FLIGHT, prefetch) emits at once; each acked once done."""
    running, most = 0, 0
    done: list[str] = []

    async def emit(raw: RawEvent) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.01)
        running -= 1
        done.append(str(raw.id))

    context = SourceContext(settings=SimpleNamespace(max_in_flight=max_in_flight))
    config = source_config(amqp_service.url, names, prefetch=prefetch)
    source = KIND.create(Origin(GATEWAY, "test", "amqp"), config, context)
    await source.start(emit)
    try:
        await asyncio.to_thread(publish, amqp_service.url, names.exchange, numbers(range(60)))
        await wait_until(lambda: len(done) >= 60, 20, done)
    finally:
        await source.stop()
    assert most == bound
    assert sorted(done) == sorted(f"order-{n}" for n in range(60))
    # Every one acked: nothing comes back to the queue once the source is gone.
    assert await asyncio.to_thread(queue_depth, amqp_service.url, names.queue) == 0
