"""Kafka config: brokers, topics, pinned partition or consumer group, offsets, TLS and SASL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.streams.kafka.config import SASL, ConsumerGroup, KafkaConfig
from gateways.config import ConfigError, parse_source
from gateways.config.common import Backoff, SecretRef
from tests.kit import parser, problem_lister

parse = parser("kafka", KafkaConfig)
problems = problem_lister("kafka")


def test_consumer_group_config() -> None:
    config = parse(
        """
        url: "kafka-0:9092, kafka-1:9092,[::1]:9093"
        topic: orders
        topics: [payments, orders, audit.log]
        consumerGroup: {groupName: gateway, rebalanceStrategy: sticky}
        initialOffset: earliest
        tls: {caCertPath: /etc/kafka/ca.crt}
        sasl: {mechanism: scram-sha-512, user: gw, password: {name: kafka, key: password}}
        backoff: {duration: 1m}
        """
    )
    assert config.brokers == ["kafka-0:9092", "kafka-1:9092", "[::1]:9093"]
    assert config.all_topics == ("orders", "payments", "audit.log")
    assert config.topic == "orders"
    assert config.partition is None
    assert (
        config.consumer_group == ConsumerGroup("gateway", "sticky") and config.group_id == "gateway"
    )
    assert config.initial_offset == "earliest"
    assert config.sasl == SASL("SCRAM-SHA-512", "gw", SecretRef(name="kafka", key="password"))
    assert config.security_protocol == "SASL_SSL"
    assert config.backoff == Backoff(duration=timedelta(minutes=1))


def test_group_id_shorthand_and_defaults() -> None:
    config = parse("url: localhost:9092\ntopics: [a]\ngroupId: gw")
    assert config.consumer_group == ConsumerGroup("gw", "range")
    assert config.initial_offset == "latest"  # no replay of old history by default
    assert config.backoff == Backoff()  # a safe default when omitted
    assert config.security_protocol == "PLAINTEXT"


def test_seed_era_partition() -> None:
    config = parse("url: localhost:9092\ntopic: topic-1\npartition: '3'")
    assert config.partition == 3 and config.consumer_group is None and config.group_id is None


@pytest.mark.parametrize(
    ("extra", "protocol"),
    [
        ("", "PLAINTEXT"),
        ("tls: {}", "SSL"),
        ("sasl: {user: u, password: {env: P}}", "SASL_PLAINTEXT"),
    ],
)
def test_security_protocol(extra: str, protocol: str) -> None:
    config = parse(f"url: k:9092\ntopic: t\ngroupId: g\n{extra}")
    assert config.security_protocol == protocol
    if config.sasl is not None:
        assert config.sasl.mechanism == "PLAIN"


def test_every_problem_is_reported_at_once() -> None:
    found = problems(
        """
        url: "kafka:9092,kafka://other:9092,nohost"
        topic: "orders!"
        topics: [".."]
        partition: -1
        consumerGroup: {rebalanceStrategy: random}
        groupId: gw
        initialOffset: oldest
        sasl: {mechanism: GSSAPI, password: {name: kafka}}
        tls: {clientKeyPath: /k}
        version: "2.8.0"
        """
    )
    assert found == [
        "url: 'kafka://other:9092' must be host:port, without a scheme",
        "url: 'nohost' is not host:port",
        "topic: 'orders!' is not a Kafka topic name (letters, digits, '.', '_', '-')",
        "topics[0]: '..' is not a Kafka topic name (letters, digits, '.', '_', '-')",
        "partition: -1 is less than 0",
        "consumerGroup.groupName: is required",
        "consumerGroup.rebalanceStrategy: 'random' is not one of range, roundrobin, sticky",
        "groupId: give groupId or consumerGroup.groupName, not both",
        "partition: give partition or a consumer group, not both",
        "initialOffset: 'oldest' is not one of earliest, latest",
        "tls: clientCertPath and clientKeyPath go together",
        "sasl.mechanism: 'GSSAPI' is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512",
        "sasl.user: is required",
        "sasl.password: needs {name, key}, {env} or {file}",
        "version: unknown field",
    ]


def test_group_or_partition_is_required() -> None:
    assert problems("url: k:9092\ntopic: t") == [
        "consumerGroup: consumerGroup.groupName (or groupId) or partition is required"
    ]


def test_partition_pins_one_topic() -> None:
    assert problems("url: k:9092\ntopics: [a, b]\npartition: 0") == [
        "partition: pins one partition of one topic; list a single topic"
    ]


def test_required_fields() -> None:
    assert problems("groupId: g") == [
        "url: is required",
        "topic: one of topic or topics is required",
    ]


def test_problems_name_the_source_and_the_field() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_source("kafka", "orders", "url: k:9092\ngroupId: g")
    assert caught.value.problems == ("kafka/orders: topic: one of topic or topics is required",)
    assert str(caught.value) == "kafka/orders: topic: one of topic or topics is required"


def test_every_problem_is_named_in_the_error_text() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_source(
            "kafka",
            "broken",
            {
                "url": "127.0.0.1:9092",
                "topic": "t",
                "partition": 0,
                "groupId": "g",
                "initialOffset": "oldest",
            },
        )
    message = str(caught.value)
    assert "kafka/broken: partition:" in message
    assert "kafka/broken: initialOffset:" in message
