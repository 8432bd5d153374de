"""Subscribe a consumer to the config's topics (with a group) or assign its one partition."""

from __future__ import annotations

from typing import Any

from kafka import TopicPartition

from gateways.config.kafka import KafkaConfig
from gateways.errors import GatewayError


class Refusal(GatewayError):
    """The cluster answered, and what the config names is not there: retrying will not help."""


def subscribe(consumer: Any, config: KafkaConfig, listener: Any) -> None:
    """Check every topic exists, then subscribe (group) or assign the one partition (no group).

    Raises Refusal naming the field when a topic or the partition does not exist.
    """
    known: dict[str, set[int]] = {}
    for topic in config.topics:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            raise Refusal(f"topic: {topic!r} does not exist")
        known[topic] = set(partitions)
    if config.partition is None:
        consumer.subscribe(list(config.topics), listener=listener)
        return
    if config.partition not in known[config.topic]:
        highest = max(known[config.topic])
        raise Refusal(
            f"partition: topic {config.topic!r} has no partition {config.partition} "
            f"(it has 0 to {highest})"
        )
    consumer.assign([TopicPartition(config.topic, config.partition)])
