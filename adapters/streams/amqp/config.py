"""AMQP 0-9-1 source config: an exchange, a queue bound to it, manual acks after delivery.

Messages are never auto-acked: each is acked once delivered, and nacked on failure per
``onFailure``: ``requeue`` (the default; the broker redelivers it) or ``deadLetter`` (nacked
without requeue, so the broker routes it to the queue's ``x-dead-letter-exchange``).
``prefetch`` bounds the unacknowledged messages in flight.

Without ``queue.name`` the queue is server-named, exclusive and auto-deleted (the seed era's
behaviour): messages published while the gateway is down are lost. Give a name for a durable
queue (the default once named) that outlives restarts and is shared by replicas.

``format: s3``: each message is an S3 event notification (a MinIO bucket's AMQP target), one
event per record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from gateways.config.common import Backoff, BasicAuth, TLSConfig, parse_url
from gateways.config.fields import Fields
from gateways.events.s3 import FORMATS

SCHEMES = frozenset({"amqp", "amqps"})
EXCHANGE_TYPES = frozenset({"direct", "fanout", "topic", "headers"})
ON_FAILURE = frozenset({"requeue", "deadLetter"})
DEFAULT_PREFETCH = 64
DEAD_LETTER_ARGUMENT = "x-dead-letter-exchange"
_MAX_NAME_BYTES = 255


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class QueueOptions:
    """The queue to declare and bind; ``name`` "" lets the broker name it."""

    name: str = ""
    durable: bool = False
    exclusive: bool = True
    auto_delete: bool = True
    arguments: Mapping[str, Any] = field(default_factory=_empty, hash=False)

    @classmethod
    def parse(cls, fields: Fields, name: str = "queue") -> QueueOptions:
        sub = fields.sub(name)
        if sub is None:
            return cls()
        queue_name = _name(sub, "name")
        if queue_name.startswith("amq."):
            sub.problem("name", f"{queue_name!r}: the 'amq.' prefix is reserved by the broker")
        named = bool(queue_name)
        options = cls(
            name=queue_name,
            durable=sub.bool("durable", named),
            exclusive=sub.bool("exclusive", not named),
            auto_delete=sub.bool("autoDelete", not named),
            arguments=_arguments(sub, "arguments"),
        )
        sub.finish()
        if options.durable and not named:
            sub.problem("durable", "a durable queue needs a name")
        return options


@dataclass(frozen=True, slots=True)
class ExchangeOptions:
    """How the exchange is declared (the seed era declared it durable); ``declare: false`` uses
    an exchange that already exists."""

    durable: bool = True
    auto_delete: bool = False
    declare: bool = True

    @classmethod
    def parse(cls, fields: Fields, name: str = "exchange") -> ExchangeOptions:
        sub = fields.sub(name)
        if sub is None:
            return cls()
        options = cls(
            durable=sub.bool("durable", True),
            auto_delete=sub.bool("autoDelete", False),
            declare=sub.bool("declare", True),
        )
        sub.finish()
        return options


@dataclass(frozen=True, slots=True)
class AMQPConfig:
    url: str
    exchange_name: str
    exchange_type: str | None
    routing_key: str = ""
    queue: QueueOptions = QueueOptions()
    exchange: ExchangeOptions = ExchangeOptions()
    prefetch: int = DEFAULT_PREFETCH
    on_failure: str = "requeue"
    backoff: Backoff = field(default_factory=Backoff)
    tls: TLSConfig | None = None
    auth: BasicAuth | None = None
    format: str = "raw"

    @property
    def secure(self) -> bool:
        return urlsplit(self.url).scheme.lower() == "amqps"

    @property
    def requeue_on_failure(self) -> bool:
        return self.on_failure == "requeue"

    @classmethod
    def parse(cls, fields: Fields) -> AMQPConfig:
        url = parse_url(fields, "url", SCHEMES) or ""
        exchange_name = _name(fields, "exchangeName", required=True)
        exchange = ExchangeOptions.parse(fields)
        exchange_type = fields.choice("exchangeType", EXCHANGE_TYPES)
        if exchange_type is None and exchange.declare and not fields.has("exchangeType"):
            fields.problem(
                "exchangeType",
                f"is required to declare the exchange ({', '.join(sorted(EXCHANGE_TYPES))})",
            )
        routing_key = _name(fields, "routingKey")
        if exchange_type in ("direct", "topic") and not fields.has("routingKey"):
            fields.problem("routingKey", f"is required for a {exchange_type} exchange")
        elif exchange_type == "topic" and (problem := _topic_key_problem(routing_key)):
            fields.problem("routingKey", problem)
        queue = QueueOptions.parse(fields)
        on_failure = fields.choice("onFailure", ON_FAILURE, "requeue") or "requeue"
        if on_failure == "deadLetter" and DEAD_LETTER_ARGUMENT not in queue.arguments:
            fields.problem("onFailure", f"deadLetter needs queue.arguments.{DEAD_LETTER_ARGUMENT}")
        prefetch = fields.int("prefetch", DEFAULT_PREFETCH, minimum=1, maximum=65535)
        tls = TLSConfig.parse(fields)
        if tls is not None and url and urlsplit(url).scheme.lower() != "amqps":
            fields.problem("tls", "needs an amqps:// url")
        auth = BasicAuth.parse(fields, password_required=True)
        if auth is not None and url and urlsplit(url).username:
            fields.problem("auth", "the url has credentials too; keep them in auth only")
        return cls(
            url=url,
            exchange_name=exchange_name,
            exchange_type=exchange_type,
            routing_key=routing_key,
            queue=queue,
            exchange=exchange,
            prefetch=prefetch or DEFAULT_PREFETCH,
            on_failure=on_failure,
            backoff=Backoff.parse(fields),
            tls=tls,
            auth=auth,
            format=fields.choice("format", FORMATS, "raw") or "raw",
        )


def _name(fields: Fields, name: str, *, required: bool = False) -> str:
    text = fields.str(name, required=required) or ""
    if len(text.encode()) > _MAX_NAME_BYTES:
        fields.problem(name, f"is longer than {_MAX_NAME_BYTES} bytes")
    return text


def _topic_key_problem(key: str) -> str | None:
    words = key.split(".")
    if any(("*" in word or "#" in word) and word not in ("*", "#") for word in words):
        return f"{key!r}: '*' and '#' must be whole words of a topic binding key"
    return None


def _arguments(fields: Fields, name: str) -> Mapping[str, Any]:
    """``x-`` queue arguments; values stay typed (``x-message-ttl: 60000`` is an integer)."""
    raw = fields.get(name)
    if raw is None:
        return _empty()
    if not isinstance(raw, Mapping):
        fields.problem(name, "expected a mapping of queue arguments")
        return _empty()
    arguments: dict[str, Any] = {}
    for key, value in raw.items():
        if not isinstance(value, str | int | float | bool):
            fields.problem(f"{name}.{key}", "expected a string, number or boolean")
            continue
        arguments[str(key)] = value
    return MappingProxyType(arguments)
