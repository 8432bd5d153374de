"""MQTT sources: a paho client in a persistent session, each message acknowledged after delivery.

paho runs its network loop on its own thread; messages cross into asyncio with
``call_soon_threadsafe``, at most ``max_in_flight`` at a time (the paho thread waits for a free
slot, and MQTT 5's Receive Maximum keeps the broker from sending more QoS 1 messages than that).
A message is acknowledged (PUBACK) only after ``emit`` returned; while ``emit`` fails the
message stays unacknowledged and is retried with the config's backoff, and the broker, keeping
the session, redelivers it after a reconnect or an adapter restart. ``qos: 2`` subscribes at
QoS 1 (see :func:`~adapters.streams.mqtt.client.subscription_qos`); QoS 0 is at most once.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import paho.mqtt.client as mqtt

from adapters.streams.mqtt.connection import Connection
from adapters.streams.mqtt.message import raw_event
from gateways.config.common import redact_url
from gateways.config.mqtt import MQTTConfig
from gateways.kinds import SourceContext
from gateways.source import Emit, Origin

log = logging.getLogger(__name__)

MAX_IN_FLIGHT = 100
STOP_GRACE = 5.0  # seconds in-flight deliveries get to finish on stop


class MQTTSource:
    def __init__(
        self,
        origin: Origin,
        config: MQTTConfig,
        context: SourceContext,
        *,
        max_in_flight: int = MAX_IN_FLIGHT,
        stop_grace: float = STOP_GRACE,
    ) -> None:
        self.origin = origin
        self.config = config
        self.context = context
        self.address = f"{redact_url(config.url)} {config.topic}"
        self._max_in_flight = max_in_flight
        self._stop_grace = stop_grace
        self._slots = threading.BoundedSemaphore(max_in_flight)
        self._deliveries: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._connection: Connection | None = None

    async def start(self, emit: Emit) -> None:
        self._emit = emit
        self._loop = asyncio.get_running_loop()
        self._connection = Connection(
            self.config, self._name, self._on_message, self._report, self._max_in_flight
        )
        await self._connection.open()

    async def stop(self) -> None:
        connection, self._stopping = self._connection, True
        if connection is None:
            return
        if self._deliveries:
            _, late = await asyncio.wait(set(self._deliveries), timeout=self._stop_grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        # The acks queued above go out before DISCONNECT; the session keeps everything unacked.
        await connection.close()
        self._connection = None

    @property
    def _name(self) -> str:
        return f"{self.origin.gateway}/{self.origin.source}"

    def _report(self, state: str, reason: str) -> None:
        if not self._stopping:
            self.context.on_status(self.origin, state, reason)

    def _on_message(self, message: mqtt.MQTTMessage, generation: int) -> None:
        """On paho's thread. Blocking for a free slot is the backpressure: paho stops reading
        from the socket until a delivery finishes."""
        while not self._slots.acquire(timeout=0.5):
            if self._stopping:
                return
        if self._stopping:
            self._slots.release()
            return
        try:
            self._loop.call_soon_threadsafe(self._spawn, message, generation)
        except RuntimeError:  # the loop closed under a late message
            self._slots.release()

    # ---------------------------------------------------------------- deliveries (event loop)
    def _spawn(self, message: mqtt.MQTTMessage, generation: int) -> None:
        task = self._loop.create_task(self._deliver(message, generation))
        self._deliveries.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._deliveries.discard(task)
        self._slots.release()

    async def _deliver(self, message: mqtt.MQTTMessage, generation: int) -> None:
        if not mqtt.topic_matches_sub(_filter(self.config.topic), message.topic):
            # A subscription the persistent session kept from an earlier config of this clientId.
            log.info(
                "mqtt %s: dropping a message on %r, not in the configured topic",
                self._name,
                message.topic,
            )
            self._ack(message, generation)
            return
        raw = raw_event(message)
        failures = 0
        while True:
            try:
                await self._emit(raw)
                break
            except Exception as exc:
                if self._stopping:
                    return  # unacknowledged: the broker redelivers it to the next session
                delay = self.config.backoff.delay(failures)
                failures += 1
                log.warning(
                    "mqtt %s: delivery failed, retrying in %.1fs: %s", self._name, delay, exc
                )
                await asyncio.sleep(delay)
        self._ack(message, generation)

    def _ack(self, message: mqtt.MQTTMessage, generation: int) -> None:
        if self._connection is not None:
            self._connection.ack(message, generation)


def _filter(topic: str) -> str:
    """The topic filter without a shared subscription's ``$share/<group>/`` prefix."""
    return topic.split("/", 2)[2] if topic.startswith("$share/") else topic


class _MQTTKind:
    name = "mqtt"

    def create(self, origin: Origin, config: Any, context: SourceContext) -> MQTTSource:
        return MQTTSource(origin, config, context)


KIND = _MQTTKind()
