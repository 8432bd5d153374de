"""Smoke test: the RabbitMQ node from scripts/services, through pika."""

from __future__ import annotations

import uuid

import pika
import pytest
from pika.adapters.blocking_connection import BlockingChannel

from tests.servicekit import AmqpService

pytestmark = [pytest.mark.amqp, pytest.mark.timeout(60)]


def consume_one(ch: BlockingChannel, queue: str) -> tuple[bytes, bool, int]:
    """Consume one message with manual ack: (body, redelivered, delivery_tag)."""
    for method, _props, body in ch.consume(queue, auto_ack=False, inactivity_timeout=10):
        assert method is not None, "no message within 10s"
        ch.cancel()  # stop consuming; the message stays unacked on this channel
        return body, bool(method.redelivered), int(method.delivery_tag)
    raise AssertionError("consumer ended")


def test_publish_consume_manual_ack(amqp_service: AmqpService) -> None:
    conn = pika.BlockingConnection(pika.URLParameters(amqp_service.url))
    queue = f"gw.smoke.{uuid.uuid4().hex}"
    try:
        ch = conn.channel()
        ch.basic_qos(prefetch_count=1)  # one unacked message at a time per consumer
        ch.confirm_delivery()
        ch.queue_declare(queue, durable=True)
        for body in (b"first", b"second"):
            ch.basic_publish("", queue, body, pika.BasicProperties(delivery_mode=2), mandatory=True)

        # A nack'd message goes back to the queue and is delivered again, flagged.
        body, redelivered, tag = consume_one(ch, queue)
        assert (body, redelivered) == (b"first", False)
        ch.basic_nack(tag, requeue=True)
        body, redelivered, tag = consume_one(ch, queue)
        assert (body, redelivered) == (b"first", True)
        ch.basic_ack(tag)

        # An unacked message comes back when its channel closes.
        body, redelivered, _tag = consume_one(ch, queue)
        assert (body, redelivered) == (b"second", False)
        ch.close()
        ch = conn.channel()
        ch.basic_qos(prefetch_count=1)
        body, redelivered, tag = consume_one(ch, queue)
        assert (body, redelivered) == (b"second", True)
        ch.basic_ack(tag)

        # Acked messages are gone for good.
        assert ch.queue_declare(queue, passive=True).method.message_count == 0
        assert ch.basic_get(queue, auto_ack=False) == (None, None, None)
        ch.queue_delete(queue)
    finally:
        conn.close()


def test_wrong_password_refused(amqp_service: AmqpService) -> None:
    params = pika.ConnectionParameters(
        host=amqp_service.host,
        port=amqp_service.port,
        credentials=pika.PlainCredentials(amqp_service.user, "wrong-password"),
        connection_attempts=1,
    )
    with pytest.raises(pika.exceptions.ProbableAuthenticationError):
        pika.BlockingConnection(params)
