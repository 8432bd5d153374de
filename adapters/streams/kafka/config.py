"""Kafka source config: topics read by a consumer group, or one pinned partition (seed era).

With a consumer group (``consumerGroup.groupName`` or ``groupId``) offsets are committed only
after delivery, partitions are shared by the group's members and each partition is read in
order. With ``partition`` (the seed era's shape) the gateway reads that one partition of the
one topic without a group, so nothing is committed and a restart starts from
``initialOffset`` again. One of the two is required.

``initialOffset`` is where reading starts when the group has no committed offset: ``latest``
(the default, as Kafka's ``auto.offset.reset``: no replay of old history) or ``earliest``.
``format: s3``: each record is an S3 event notification (a MinIO bucket's Kafka target), one
event per notification record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from gateways.config.common import Backoff, SecretRef, TLSConfig, split_host_port
from gateways.config.fields import Fields
from gateways.events.s3 import FORMATS

INITIAL_OFFSETS = frozenset({"earliest", "latest"})
REBALANCE_STRATEGIES = frozenset({"range", "roundrobin", "sticky"})
SASL_MECHANISMS = frozenset({"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"})
_TOPIC = re.compile(r"[A-Za-z0-9._-]{1,249}")
_GROUP = re.compile(r"\S+")


@dataclass(frozen=True, slots=True)
class ConsumerGroup:
    group_name: str
    rebalance_strategy: str = "range"


@dataclass(frozen=True, slots=True)
class SASL:
    mechanism: str
    user: str
    password: SecretRef

    @classmethod
    def parse(cls, fields: Fields, name: str = "sasl") -> SASL | None:
        sub = fields.sub(name)
        if sub is None:
            return None
        mechanism = sub.choice("mechanism", SASL_MECHANISMS, "PLAIN", upper=True) or "PLAIN"
        user = sub.required_str("user")
        password = SecretRef.parse(sub, "password", required=True)
        sub.finish()
        return cls(mechanism, user, password or SecretRef())


@dataclass(frozen=True, slots=True)
class KafkaConfig:
    url: str
    topics: tuple[str, ...]
    partition: int | None = None
    consumer_group: ConsumerGroup | None = None
    initial_offset: str = "latest"
    backoff: Backoff = field(default_factory=Backoff)
    tls: TLSConfig | None = None
    sasl: SASL | None = None
    format: str = "raw"

    @property
    def brokers(self) -> list[str]:
        """``host:port`` of every bootstrap broker."""
        return [part.strip() for part in self.url.split(",") if part.strip()]

    @property
    def all_topics(self) -> tuple[str, ...]:
        return self.topics

    @property
    def topic(self) -> str:
        """The first topic (the seed era's single ``topic``)."""
        return self.topics[0] if self.topics else ""

    @property
    def group_id(self) -> str | None:
        return self.consumer_group.group_name if self.consumer_group else None

    @property
    def security_protocol(self) -> str:
        """Kafka's ``security.protocol`` for these settings."""
        if self.sasl is not None:
            return "SASL_SSL" if self.tls is not None else "SASL_PLAINTEXT"
        return "SSL" if self.tls is not None else "PLAINTEXT"

    @classmethod
    def parse(cls, fields: Fields) -> KafkaConfig:
        url = _brokers(fields)
        topics = _topics(fields)
        partition = fields.int("partition", minimum=0)
        group = _consumer_group(fields)
        if partition is not None and group is not None:
            fields.problem("partition", "give partition or a consumer group, not both")
        elif partition is not None and len(topics) > 1:
            fields.problem("partition", "pins one partition of one topic; list a single topic")
        elif partition is None and group is None and not fields.has("partition"):
            fields.problem(
                "consumerGroup", "consumerGroup.groupName (or groupId) or partition is required"
            )
        return cls(
            url=url,
            topics=topics,
            partition=partition,
            consumer_group=group,
            initial_offset=fields.choice("initialOffset", INITIAL_OFFSETS, "latest") or "latest",
            backoff=Backoff.parse(fields),
            tls=TLSConfig.parse(fields),
            sasl=SASL.parse(fields),
            format=fields.choice("format", FORMATS, "raw") or "raw",
        )


def _brokers(fields: Fields) -> str:
    url = fields.required_str("url").strip()
    for part in url.split(",") if url else ():
        try:
            split_host_port(part)
        except ValueError as exc:
            fields.problem("url", str(exc))
    return url


def _topics(fields: Fields) -> tuple[str, ...]:
    named = []
    single = fields.str("topic")
    if single is not None:
        named.append(("topic", single.strip()))
    named += [(f"topics[{i}]", text.strip()) for i, text in enumerate(fields.str_list("topics"))]
    if not named:
        fields.problem("topic", "one of topic or topics is required")
    topics: list[str] = []
    for path, text in named:
        if not _TOPIC.fullmatch(text) or text in (".", ".."):
            fields.problem(
                path, f"{text!r} is not a Kafka topic name (letters, digits, '.', '_', '-')"
            )
        elif text not in topics:
            topics.append(text)
    return tuple(topics)


def _consumer_group(fields: Fields) -> ConsumerGroup | None:
    group_id = fields.str("groupId")
    sub = fields.sub("consumerGroup")
    if sub is None:
        name = (group_id or "").strip()
        if group_id is not None and not _GROUP.fullmatch(name):
            fields.problem("groupId", f"{group_id!r} is not a group id (no spaces)")
        return ConsumerGroup(name) if name else None
    name = sub.required_str("groupName").strip()
    if name and not _GROUP.fullmatch(name):
        sub.problem("groupName", f"{name!r} is not a group id (no spaces)")
    strategy = sub.choice("rebalanceStrategy", REBALANCE_STRATEGIES, "range") or "range"
    sub.finish()
    if group_id is not None:
        fields.problem("groupId", "give groupId or consumerGroup.groupName, not both")
    return ConsumerGroup(name, strategy)
