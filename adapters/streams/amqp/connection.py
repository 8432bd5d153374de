"""The pika side of an AMQP source: one blocking connection on a thread of its own, per session.

:class:`Connection` is one supervisor session (:class:`gateways.supervisor.Supervisor`): its
thread connects, declares the exchange, queue and binding from the config, starts consuming
(then the session calls ``connected()`` on the event loop) and runs until the connection is
lost (the session raises, the supervisor backs off and opens a new one) or the session is
cancelled (the thread closes the connection; the session waits for the thread).

pika's BlockingConnection is used only from the thread that made it: deliveries leave it
through ``on_delivery`` (called on that thread), and acks/nacks come back in through
``add_callback_threadsafe``, gathered (:class:`Settlements`): one wake-up of the pika thread
settles what came in meanwhile. A :class:`Delivery` is settled only on the channel it came
from; what a lost channel had not acked, the broker requeues by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel
from pika.spec import Basic, BasicProperties

from adapters.streams.amqp.config import AMQPConfig
from gateways.loopbridge import run_blocking
from gateways.secrets import resolve
from gateways.source import Origin
from gateways.supervisor import PermanentError
from gateways.tls import client_context

log = logging.getLogger(__name__)

# Channel/connection close codes no retry will cure: access refused, not found (an exchange
# that must already exist), precondition failed (declared with other options), not allowed.
PERMANENT_CODES = frozenset({403, 404, 406, 530})
# How long a cancelled session waits for its thread (a connect in progress ends within pika's
# stack timeout, 15 s by default) before leaving the daemon thread be.
JOIN_WITHIN = 15.0

Settlement = Literal["ack", "requeue", "reject"]


def connection_parameters(config: AMQPConfig, origin: Origin) -> pika.URLParameters:
    """Parameters from the URL (its query options too) plus auth and TLS from the config.

    One attempt per connect: the supervisor retries with the config's backoff. Raises
    GatewayError naming the field when the password or the TLS files cannot be read.
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
    if isinstance(exc, PermanentError):  # already described by the session
        return str(exc)
    if not str(exc) and exc.args:  # AMQPConnectionError: the cause is only in its repr
        return f"{type(exc).__name__}: {', '.join(map(repr, exc.args))}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class Settlements:
    """The acks and nacks of one connection, gathered from any thread and sent on its own."""

    def __init__(self, connection: pika.BlockingConnection) -> None:
        self._connection = connection
        self._lock = threading.Lock()
        self._pending: list[tuple[BlockingChannel, int, Settlement]] = []

    def add(self, channel: BlockingChannel, tag: int, settlement: Settlement) -> None:
        with self._lock:
            self._pending.append((channel, tag, settlement))
            if len(self._pending) > 1:
                return  # a wake-up is on its way and takes this one too
        # A connection already closed has nothing to settle: the broker requeued the messages.
        with contextlib.suppress(pika.exceptions.AMQPError):
            self._connection.add_callback_threadsafe(self._send)

    def _send(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        for channel, tag, settlement in pending:
            if not channel.is_open:
                continue  # that channel is gone; the broker requeued the message
            try:
                if settlement == "ack":
                    channel.basic_ack(tag)
                else:
                    channel.basic_nack(tag, requeue=settlement == "requeue")
            except pika.exceptions.AMQPError as exc:
                log.info("amqp: could not %s delivery %s: %s", settlement, tag, exc)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message as pika handed it over, with the channel it came on."""

    settlements: Settlements
    channel: BlockingChannel
    method: Basic.Deliver
    properties: BasicProperties
    body: bytes

    def settle(self, settlement: Settlement) -> None:
        """Ack, requeue or reject on the pika thread (callable from any thread)."""
        self.settlements.add(self.channel, self.method.delivery_tag, settlement)


class Connection:
    """One session: a pika connection on its thread, from connect to loss (or cancel)."""

    def __init__(
        self,
        config: AMQPConfig,
        parameters: pika.URLParameters,
        name: str,
        on_delivery: Callable[[Delivery], None],
    ) -> None:
        self.config = config
        self._parameters = parameters
        self._name = name
        self._on_delivery = on_delivery
        self._stopping = threading.Event()
        self._connection: pika.BlockingConnection | None = None  # set on the pika thread

    async def run(self, connected: Callable[[], None]) -> str | None:
        """The session: returns or raises when the connection ends; PermanentError when the
        broker refuses for good. Cancelled: closes the connection and waits for the thread."""
        return await run_blocking(
            f"amqp {self._name}", self._work, connected, self._interrupt, JOIN_WITHIN
        )

    async def _interrupt(self, ended: asyncio.Future[str | None]) -> None:
        self._stopping.set()
        connection = self._connection
        if connection is not None:
            with contextlib.suppress(pika.exceptions.AMQPError):
                connection.add_callback_threadsafe(lambda: None)  # wakes process_data_events

    # ---------------------------------------------------------------- pika thread

    def _work(self, ready: Callable[[], None]) -> None:
        try:
            self._consume(ready)
        except (pika.exceptions.AMQPError, OSError) as exc:
            raise PermanentError(describe(exc)) if is_permanent(exc) else exc from None
        except Exception as exc:  # a bug: retrying the same code would not help
            log.exception("amqp %s: consumer thread failed", self._name)
            raise PermanentError(f"amqp client failed: {exc}") from exc

    def _consume(self, ready: Callable[[], None]) -> None:
        """One connection: declare, consume until stopping (returns) or lost (raises)."""
        connection = pika.BlockingConnection(self._parameters)
        self._connection = connection  # from here on _stop() can wake this thread
        try:
            channel = connection.channel()
            channel.basic_qos(prefetch_count=self.config.prefetch)
            queue = declare(channel, self.config)
            settlements = Settlements(connection)
            channel.basic_consume(
                queue, functools.partial(self._on_message, settlements), auto_ack=False
            )
            ready()
            while not self._stopping.is_set():
                connection.process_data_events(time_limit=None)
        finally:
            self._connection = None
            if connection.is_open:
                with contextlib.suppress(pika.exceptions.AMQPError, OSError):
                    connection.close()

    def _on_message(
        self,
        settlements: Settlements,
        channel: BlockingChannel,
        method: Basic.Deliver,
        properties: BasicProperties,
        body: bytes,
    ) -> None:
        self._on_delivery(Delivery(settlements, channel, method, properties, body))
