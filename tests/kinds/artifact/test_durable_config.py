"""The durable path's config: a stream source says its messages are S3 notifications (a MinIO
bucket's target) with ``format: s3``; ``raw`` (the default) keeps each message one event."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.streams.amqp.config import AMQPConfig
from adapters.streams.kafka.config import KafkaConfig
from adapters.streams.mqtt.config import MQTTConfig
from adapters.streams.nats.config import NATSConfig
from tests.kit import parser, problem_lister

SOURCES: dict[str, tuple[type[Any], str]] = {
    "nats": (NATSConfig, "url: nats://127.0.0.1:4222\nsubject: minio\n"),
    "amqp": (
        AMQPConfig,
        "url: amqp://127.0.0.1\nexchangeName: minio\nexchangeType: fanout\n"
        "queue: {name: minio-events}\n",
    ),
    "kafka": (KafkaConfig, "url: 127.0.0.1:9092\ntopic: minio\nconsumerGroup: {groupName: g}\n"),
    "mqtt": (MQTTConfig, "url: tcp://127.0.0.1:1883\ntopic: minio\nclientId: gw\n"),
}


@pytest.mark.parametrize("kind", sorted(SOURCES))
def test_format_is_raw_unless_s3_is_asked_for(kind: str) -> None:
    schema, base = SOURCES[kind]
    parse = parser(kind, schema)
    assert parse(base).format == "raw"
    assert parse(base + "format: s3\n").format == "s3"
    assert parse(base + "format: raw\n").format == "raw"


@pytest.mark.parametrize("kind", sorted(SOURCES))
def test_an_unknown_format_names_the_field(kind: str) -> None:
    _, base = SOURCES[kind]
    assert problem_lister(kind)(base + "format: minio\n") == [
        "format: 'minio' is not one of raw, s3"
    ]
