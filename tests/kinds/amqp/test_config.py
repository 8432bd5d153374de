"""AMQP config: URL, exchange and queue declare options, prefetch, nack policy, TLS, auth."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.streams.amqp.config import DEFAULT_PREFETCH, AMQPConfig, ExchangeOptions, QueueOptions
from gateways.config import ConfigError, parse_source
from gateways.config.common import Backoff, BasicAuth, SecretRef
from tests.kit import parser, problem_lister

parse = parser("amqp", AMQPConfig)
problems = problem_lister("amqp")


def test_good_config() -> None:
    config = parse(
        """
        url: amqps://rabbit.example.com:5671/%2F
        exchangeName: orders
        exchangeType: topic
        routingKey: "orders.*.created.#"
        exchange: {durable: false, autoDelete: true, declare: false}
        queue:
          name: gateway-orders
          arguments:
            x-dead-letter-exchange: orders.dlx
            x-message-ttl: 60000
            x-queue-type: quorum
        prefetch: 16
        onFailure: deadLetter
        tls: {caCertPath: /etc/rabbit/ca.crt}
        auth: {username: gw, password: {name: rabbit, key: password}}
        backoff: {duration: 3s, steps: 4}
        """
    )
    assert config.secure
    assert (config.exchange_name, config.exchange_type, config.routing_key) == (
        "orders",
        "topic",
        "orders.*.created.#",
    )
    assert config.exchange == ExchangeOptions(durable=False, auto_delete=True, declare=False)
    assert config.queue.name == "gateway-orders"
    assert (config.queue.durable, config.queue.exclusive, config.queue.auto_delete) == (
        True,
        False,
        False,
    )
    assert dict(config.queue.arguments) == {
        "x-dead-letter-exchange": "orders.dlx",
        "x-message-ttl": 60000,
        "x-queue-type": "quorum",
    }
    assert config.prefetch == 16
    assert config.on_failure == "deadLetter" and not config.requeue_on_failure
    assert config.auth == BasicAuth("gw", SecretRef(name="rabbit", key="password"))
    assert config.backoff == Backoff(duration=timedelta(seconds=3), steps=4)


def test_defaults() -> None:
    config = parse("url: amqp://localhost\nexchangeName: events\nexchangeType: fanout")
    assert config.routing_key == ""
    assert config.exchange == ExchangeOptions(durable=True, auto_delete=False, declare=True)
    assert config.queue == QueueOptions(name="", durable=False, exclusive=True, auto_delete=True)
    assert config.prefetch == DEFAULT_PREFETCH
    assert config.requeue_on_failure
    assert config.backoff == Backoff()  # a safe default when omitted
    assert not config.secure and config.tls is None and config.auth is None


def test_named_queue_options_can_be_overridden() -> None:
    config = parse(
        "url: amqp://h\nexchangeName: e\nexchangeType: direct\nroutingKey: k\n"
        "queue: {name: q, durable: false, exclusive: true, autoDelete: true}"
    )
    assert config.queue == QueueOptions(name="q", durable=False, exclusive=True, auto_delete=True)


def test_existing_exchange_needs_no_type() -> None:
    config = parse("url: amqp://h\nexchangeName: amq.fanout\nexchange: {declare: false}")
    assert config.exchange_type is None and not config.exchange.declare


def test_every_problem_is_reported_at_once() -> None:
    found = problems(
        """
        url: amqp://guest:guest@rabbit:5672
        exchangeType: x-delayed
        queue:
          name: amq.gateway
          durable: true
          arguments: {x-dead-letter-exchange: [dlx]}
          passive: true
        onFailure: drop
        prefetch: 0
        tls: {caCertPath: /ca}
        auth: {username: gw}
        consumerTag: gw
        """
    )
    assert found == [
        "exchangeName: is required",
        "exchangeType: 'x-delayed' is not one of direct, fanout, headers, topic",
        "queue.name: 'amq.gateway': the 'amq.' prefix is reserved by the broker",
        "queue.arguments.x-dead-letter-exchange: expected a string, number or boolean",
        "queue.passive: unknown field",
        "onFailure: 'drop' is not one of deadLetter, requeue",
        "prefetch: 0 is less than 1",
        "tls: needs an amqps:// url",
        "auth.password: is required (a secret reference {name, key})",
        "auth: the url has credentials too; keep them in auth only",
        "consumerTag: unknown field",
    ]


def test_dead_letter_needs_a_dead_letter_exchange() -> None:
    found = problems(
        "url: amqp://h\nexchangeName: e\nexchangeType: fanout\n"
        "onFailure: deadLetter\nqueue: {name: q}"
    )
    assert found == ["onFailure: deadLetter needs queue.arguments.x-dead-letter-exchange"]


def test_routing_key_rules() -> None:
    assert problems("url: amqp://h\nexchangeName: e\nexchangeType: direct") == [
        "routingKey: is required for a direct exchange"
    ]
    assert problems("url: amqp://h\nexchangeName: e\nexchangeType: topic\nroutingKey: 'a.b*'") == [
        "routingKey: 'a.b*': '*' and '#' must be whole words of a topic binding key"
    ]


def test_unnamed_durable_queue() -> None:
    found = problems("url: amqp://h\nexchangeName: e\nexchangeType: fanout\nqueue: {durable: true}")
    assert found == ["queue.durable: a durable queue needs a name"]


def test_required_fields() -> None:
    assert problems("{}") == [
        "url: is required",
        "exchangeName: is required",
        "exchangeType: is required to declare the exchange (direct, fanout, headers, topic)",
    ]


def test_password_in_url_is_not_echoed() -> None:
    (problem,) = problems(
        "url: 'http://guest:hunter2@rabbit'\nexchangeName: e\nexchangeType: fanout"
    )
    assert "hunter2" not in problem
    assert problem == "url: 'http://guest:***@rabbit' must start with amqp:// or amqps://"


def test_problems_name_the_source_and_the_field() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_source("amqp", "orders", "url: amqp://h\nexchangeName: e\nexchangeType: FETCH")
    assert caught.value.problems == (
        "amqp/orders: exchangeType: 'FETCH' is not one of direct, fanout, headers, topic",
    )
    assert (
        str(caught.value)
        == "amqp/orders: exchangeType: 'FETCH' is not one of direct, fanout, headers, topic"
    )


def test_bad_config_field_is_named() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_source(
            "amqp", "broken", {"url": "amqp://127.0.0.1", "exchangeName": "x", "prefetch": 0}
        )
    message = str(caught.value)
    assert "amqp/broken: exchangeType:" in message
    assert "amqp/broken: prefetch:" in message
