"""MQTT sources: a paho client in a persistent session, each message acknowledged after delivery.

The core's :class:`~gateways.supervisor.Supervisor` runs the broker connection (see
:mod:`adapters.streams.mqtt.connection`): it reconnects with the config's backoff and reports
the state. paho runs its network loop on its own thread and hands every message to the
source's :class:`~gateways.inflight.InFlight` pool, at most ``GATEWAYS_MAX_IN_FLIGHT`` at a
time: while the pool is full paho's thread waits, and MQTT 5's Receive Maximum keeps the broker
from sending more QoS 1 messages than that.

A message is acknowledged (PUBACK) only after ``emit`` returned. MQTT has no negative
acknowledgement and redelivers only to a new connection, so while ``emit`` fails the message
stays unacknowledged and is emitted again after the config's backoff; on stop or an adapter
restart the broker, keeping the session, redelivers it. ``qos: 2`` subscribes at QoS 1 (see
:func:`~adapters.streams.mqtt.connection.subscription_qos`); QoS 0 is at most once.
With ``format: s3`` each message is an S3 event notification: every record is emitted as its own
event (:func:`gateways.events.s3.per_record`), and the message is acknowledged once all were
delivered.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Callable

import paho.mqtt.client as mqtt

from adapters.streams.mqtt.config import MQTTConfig
from adapters.streams.mqtt.connection import Connection
from adapters.streams.mqtt.message import raw_event
from gateways.config.common import redact_url
from gateways.events.s3 import per_record
from gateways.inflight import InFlight
from gateways.kinds import SourceContext, SourceKind
from gateways.source import Emit, Origin
from gateways.supervised import STOP_GRACE, SupervisedSource
from gateways.supervisor import Supervisor

log = logging.getLogger(__name__)

_MAX_EXPONENT = 30  # the backoff's cap applies long before factor**attempt overflows a float


class MQTTSource(SupervisedSource[MQTTConfig]):
    kind = "mqtt"

    def __init__(
        self,
        origin: Origin,
        config: MQTTConfig,
        context: SourceContext,
        *,
        stop_grace: float = STOP_GRACE,
    ) -> None:
        super().__init__(origin, config, context, stop_grace=stop_grace)
        self.address = f"{redact_url(config.url)} {config.topic}"
        self._pool = InFlight(context.max_in_flight, self.label)
        self._connection: Connection | None = None

    @property
    def where(self) -> str:
        return redact_url(self.config.url)

    async def start(self, emit: Emit) -> None:
        if self.config.format == "s3":  # each record of a notification is its own event
            emit = per_record(emit, self.label)
        await super().start(emit)

    async def prepare(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._connection = Connection(self.config, self.label, self._on_message, self._pool.limit)

    async def session(self, connected: Callable[[], None]) -> str | None:
        assert self._connection is not None
        return await self._connection.session(connected)

    async def wind_down(self, supervisor: Supervisor) -> None:
        await self._pool.drain(self.stop_grace)
        # The acks queued above go out before DISCONNECT; the session keeps everything unacked.
        await supervisor.stop()
        # Messages paho handed over meanwhile were left unacked; their deliveries end at once.
        await self._pool.drain(self.stop_grace)
        self._connection = None

    def _on_message(self, message: mqtt.MQTTMessage, generation: int) -> None:
        """On paho's thread. Blocking while the pool is full is the backpressure: paho stops
        reading from the socket until a delivery finishes."""
        delivery = self._deliver(message, generation)
        try:
            self._pool.submit_from_thread(self._loop, delivery)
        except (RuntimeError, concurrent.futures.CancelledError):
            delivery.close()  # the loop closed under a late message: unacked, redelivered

    # ---------------------------------------------------------------- deliveries (event loop)

    async def _deliver(self, message: mqtt.MQTTMessage, generation: int) -> None:
        if self.stopping:
            return  # unacknowledged: the broker redelivers it to the next session
        if not mqtt.topic_matches_sub(_filter(self.config.topic), message.topic):
            # A subscription the persistent session kept from an earlier config of this clientId.
            log.info(
                "%s: dropping a message on %r, not in the configured topic",
                self.label,
                message.topic,
            )
            self._ack(message, generation)
            return
        raw = raw_event(message)
        failures = 0
        while True:
            try:
                await self.emit(raw)
                break
            except Exception as exc:
                if self.stopping:
                    return  # unacknowledged: the broker redelivers it to the next session
                delay = self.config.backoff.delay(min(failures, _MAX_EXPONENT))
                failures += 1
                log.warning("%s: delivery failed, retrying in %.1fs: %s", self.label, delay, exc)
                await asyncio.sleep(delay)
        self._ack(message, generation)

    def _ack(self, message: mqtt.MQTTMessage, generation: int) -> None:
        if self._connection is not None:
            self._connection.ack(message, generation)


def _filter(topic: str) -> str:
    """The topic filter without a shared subscription's ``$share/<group>/`` prefix."""
    return topic.split("/", 2)[2] if topic.startswith("$share/") else topic


KIND = SourceKind(name="mqtt", config=MQTTConfig, create=MQTTSource)
