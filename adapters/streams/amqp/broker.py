"""The broker side of an AMQP source: connection parameters, and the exchange, queue and binding
declared from the config."""

from __future__ import annotations

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel

from gateways.config.amqp import AMQPConfig
from gateways.secrets import resolve
from gateways.source import Origin
from gateways.tls import client_context

# Channel/connection close codes no retry will cure: access refused, not found (an exchange
# that must already exist), precondition failed (declared with other options), not allowed.
PERMANENT_CODES = frozenset({403, 404, 406, 530})


def connection_parameters(config: AMQPConfig, origin: Origin) -> pika.URLParameters:
    """Parameters from the URL (its query options too) plus auth and TLS from the config.

    One attempt per connect: the source retries with the config's backoff. Raises GatewayError
    naming the field when the password or the TLS files cannot be read.
    """
    parameters = pika.URLParameters(config.url)
    parameters.connection_attempts = 1
    parameters.client_properties = {
        "connection_name": f"gateways {origin.gateway}/{origin.source}",
    }
    if config.auth is not None:
        password = resolve(config.auth.password) if config.auth.password else ""
        parameters.credentials = pika.PlainCredentials(config.auth.username, password)
    if config.secure:
        parameters.ssl_options = pika.SSLOptions(client_context(config.tls), parameters.host)
    return parameters


def declare(channel: BlockingChannel, config: AMQPConfig) -> str:
    """Declare (or check) the exchange, declare the queue and bind it; the queue's name."""
    exchange = config.exchange_name
    if exchange and config.exchange.declare:
        channel.exchange_declare(
            exchange=exchange,
            exchange_type=config.exchange_type or "direct",
            durable=config.exchange.durable,
            auto_delete=config.exchange.auto_delete,
        )
    elif exchange:
        channel.exchange_declare(exchange=exchange, passive=True)
    queue = config.queue
    declared = channel.queue_declare(
        queue=queue.name,
        durable=queue.durable,
        exclusive=queue.exclusive,
        auto_delete=queue.auto_delete,
        arguments=dict(queue.arguments) or None,
    )
    name: str = declared.method.queue
    if exchange:  # the default exchange "" routes to every queue by name, unbound
        channel.queue_bind(queue=name, exchange=exchange, routing_key=config.routing_key)
    return name


def is_permanent(exc: BaseException) -> bool:
    """A refusal retrying will not change: bad credentials, or a declare the broker refuses."""
    if isinstance(
        exc,
        pika.exceptions.ProbableAuthenticationError
        | pika.exceptions.ProbableAccessDeniedError
        | pika.exceptions.AuthenticationError,
    ):
        return True
    if isinstance(
        exc, pika.exceptions.ChannelClosedByBroker | pika.exceptions.ConnectionClosedByBroker
    ):
        return exc.reply_code in PERMANENT_CODES
    return False


def describe(exc: BaseException) -> str:
    """pika's exceptions often print as a bare tuple; say what happened."""
    if isinstance(
        exc, pika.exceptions.ChannelClosedByBroker | pika.exceptions.ConnectionClosedByBroker
    ):
        return f"{type(exc).__name__}: {exc.reply_code} {exc.reply_text}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
