"""The pika side of an AMQP source: one thread that connects, declares, consumes, reconnects.

pika's BlockingConnection is used only from the thread that made it: deliveries leave it
through ``on_delivery`` (called on that thread), and acks/nacks come back in through
``add_callback_threadsafe``. Each connection gets a number (``generation``) so a delivery is
settled only on the channel it came from; what a lost channel had not acked, the broker
requeues by itself.
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

from adapters.streams.amqp.broker import declare, describe, is_permanent
from gateways.config.amqp import AMQPConfig
from gateways.config.common import redact_url
from gateways.errors import GatewayError
from gateways.loopbridge import StartReporter, post, settle

log = logging.getLogger(__name__)

_POLL = 1.0  # seconds the pika thread waits for I/O before looking for a stop

Settlement = Literal["ack", "requeue", "reject"]


@dataclass(frozen=True, slots=True)
class Delivery:
    connection: pika.BlockingConnection
    channel: BlockingChannel
    generation: int
    method: Basic.Deliver
    properties: BasicProperties
    body: bytes


class Consumer:
    def __init__(
        self,
        config: AMQPConfig,
        parameters: pika.URLParameters,
        name: str,
        on_delivery: Callable[[Delivery], None],
        on_status: Callable[[str, str], None],
    ) -> None:
        self.config = config
        self._parameters = parameters
        self._name = name
        self._on_delivery = on_delivery
        self._on_status = on_status
        self._closing = threading.Event()
        self._generation = 0
        self._connection: pika.BlockingConnection | None = None
        # Written by the pika thread only.
        self._consuming = False
        self._thread: threading.Thread | None = None

    async def open(self) -> None:
        """Returns once consuming, or after a first failure a retry may cure (the retries go on
        in the background); raises GatewayError when the broker refuses for good."""
        self._loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = self._loop.create_future()
        self._start = StartReporter(self._loop, ready, self._on_status)
        self._thread = threading.Thread(target=self._run, name=f"amqp {self._name}", daemon=True)
        self._thread.start()
        await ready

    def settle(self, delivery: Delivery, settlement: Settlement) -> None:
        """Ack, requeue or reject ``delivery`` on the pika thread (callable from any thread)."""
        callback = functools.partial(self._settle_on_channel, delivery, settlement)
        with contextlib.suppress(pika.exceptions.AMQPError):  # closed: the broker requeued it
            delivery.connection.add_callback_threadsafe(callback)

    async def close(self, join_within: float) -> None:
        """Close the connection; the broker requeues every delivery not settled yet."""
        self._closing.set()
        connection = self._connection
        if connection is not None:
            with contextlib.suppress(pika.exceptions.AMQPError):
                connection.add_callback_threadsafe(lambda: None)  # wakes the pika thread
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, join_within)

    # ---------------------------------------------------------------- pika thread

    def _run(self) -> None:
        try:
            self._reconnect_loop()
        except Exception as exc:  # a bug must not leave open() waiting or the source silent
            log.exception("amqp %s: consumer thread failed", self._name)
            reason = f"amqp client failed: {exc}"
            post(self._loop, settle, self._start.ready, None, GatewayError(reason))
            post(self._loop, self._on_status, "failed", reason)

    def _reconnect_loop(self) -> None:
        failures = 0
        while not self._closing.is_set():
            self._consuming = False
            try:
                self._consume()
                return
            except (pika.exceptions.AMQPError, OSError) as exc:
                permanent, problem = is_permanent(exc), describe(exc)
            if self._closing.is_set():
                return
            if self._consuming:
                failures = 0  # the connection had been up: start the backoff over
            reason = f"{redact_url(self.config.url)}: {problem}"
            if self._start.failed(
                reason, permanent=permanent, failures=failures, backoff=self.config.backoff
            ):
                return
            delay = self.config.backoff.delay(failures)
            failures += 1
            log.warning("amqp %s: %s; reconnecting in %.1fs", self._name, reason, delay)
            self._closing.wait(delay)

    def _consume(self) -> None:
        """One connection: declare, consume until closing (returns) or lost (raises)."""
        connection = pika.BlockingConnection(self._parameters)
        try:
            channel = connection.channel()
            channel.basic_qos(prefetch_count=self.config.prefetch)
            queue = declare(channel, self.config)
            self._generation += 1
            on_message = functools.partial(self._on_message, connection, self._generation)
            channel.basic_consume(queue, on_message, auto_ack=False)
            self._connection = connection
            self._start.connected("reconnected")
            self._consuming = True
            while not self._closing.is_set():
                connection.process_data_events(time_limit=_POLL)
        finally:
            self._connection = None
            if connection.is_open:
                with contextlib.suppress(pika.exceptions.AMQPError, OSError):
                    connection.close()

    def _on_message(
        self,
        connection: pika.BlockingConnection,
        generation: int,
        channel: BlockingChannel,
        method: Basic.Deliver,
        properties: BasicProperties,
        body: bytes,
    ) -> None:
        self._on_delivery(Delivery(connection, channel, generation, method, properties, body))

    def _settle_on_channel(self, delivery: Delivery, settlement: Settlement) -> None:
        channel, tag = delivery.channel, delivery.method.delivery_tag
        if delivery.generation != self._generation or not channel.is_open:
            return  # that channel is gone; the broker requeued the message
        try:
            if settlement == "ack":
                channel.basic_ack(tag)
            else:
                channel.basic_nack(tag, requeue=settlement == "requeue")
        except pika.exceptions.AMQPError as exc:
            log.info("amqp %s: could not %s delivery %s: %s", self._name, settlement, tag, exc)
