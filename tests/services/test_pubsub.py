"""Smoke test: pstest from scripts/services, through google-cloud-pubsub: create a topic and
a subscription with ordering, publish, and a streaming pull gets the messages in order."""

from __future__ import annotations

import queue
import uuid
from typing import Any

import pytest

from tests.servicekit import PubsubService

pytestmark = [pytest.mark.pubsub, pytest.mark.timeout(60)]


def test_publish_reaches_a_streaming_pull_in_order(pubsub_service: PubsubService) -> None:
    publisher = pubsub_service.publisher(ordering=True)
    subscriber = pubsub_service.subscriber()
    name = f"gw-smoke-{uuid.uuid4().hex[:12]}"
    topic = publisher.topic_path(pubsub_service.project, name)
    subscription = subscriber.subscription_path(pubsub_service.project, name)
    publisher.create_topic(name=topic)
    subscriber.create_subscription(
        request={"name": subscription, "topic": topic, "enable_message_ordering": True}
    )
    received: queue.Queue[Any] = queue.Queue()

    def callback(message: Any) -> None:
        received.put(message)
        message.ack()

    future = subscriber.subscribe(subscription, callback)
    try:
        ids = [
            publisher.publish(topic, f"m{n}".encode(), ordering_key="k", n=str(n)).result(10)
            for n in range(5)
        ]
        got = [received.get(timeout=10) for _ in range(5)]
        assert [m.message_id for m in got] == ids
        assert [m.data for m in got] == [f"m{n}".encode() for n in range(5)]
        assert [dict(m.attributes) for m in got] == [{"n": str(n)} for n in range(5)]
        assert {m.ordering_key for m in got} == {"k"}
    finally:
        future.cancel()
        subscriber.delete_subscription(subscription=subscription)
        publisher.delete_topic(topic=topic)
        subscriber.close()
