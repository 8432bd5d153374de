"""The broker connection of an MQTT source: a paho client built from the config, and one session.

:meth:`Connection.session` is what the core's :class:`~gateways.supervisor.Supervisor` runs:
connect, subscribe, call ``connected()``, then wait until the connection is lost; the
supervisor backs off, reconnects and reports the state. paho runs its network loop on a thread
of its own; its callbacks settle the session's futures on the event loop through
:mod:`gateways.loopbridge`, and hand each message (with the number of the connection it came
on, ``generation``) to the source on paho's thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from adapters.streams.mqtt.config import MQTTConfig
from gateways.loopbridge import post, settle
from gateways.secrets import resolve
from gateways.supervisor import PermanentError
from gateways.tls import client_context

log = logging.getLogger(__name__)

KEEPALIVE = 30
HANDSHAKE_TIMEOUT = 10.0  # seconds to wait for CONNACK, then for SUBACK
RECEIVE_MAXIMUM_LIMIT = 65535  # the largest Receive Maximum MQTT 5 allows
# CONNACK reasons that no retry will cure (MQTT 5 codes; paho maps 3.1.1's return codes onto
# them): protocol version, client identifier, credentials, authorisation, banned, auth method.
PERMANENT_REFUSALS = frozenset({0x84, 0x85, 0x86, 0x87, 0x8A, 0x8C})
OnMessage = Callable[[mqtt.MQTTMessage, int], None]  # (message, generation), on paho's thread


class Connection:
    """One source's paho client, reused by every session; ``connected`` is the generation of
    the live connection, or None."""

    def __init__(
        self, config: MQTTConfig, label: str, on_message: OnMessage, receive_maximum: int
    ) -> None:
        self.config = config
        self.generation = 0
        self.connected: int | None = None
        self._label = label
        self._on_message = on_message
        self._receive_maximum = min(receive_maximum, RECEIVE_MAXIMUM_LIMIT)
        self._subscribed = False
        self.client = build_client(config)
        self.client.on_connect = self._connected
        self.client.on_subscribe = self._subscribe_answered
        self.client.on_disconnect = self._disconnected
        self.client.on_message = self._message

    def ack(self, message: mqtt.MQTTMessage, generation: int) -> None:
        # After a reconnect the broker resends an unacked message itself, and that copy is
        # acked; its packet id may meanwhile name another message, so this one is not.
        if message.qos > 0 and generation == self.connected:
            self.client.ack(message.mid, message.qos)

    async def session(self, connected: Callable[[], None]) -> str:
        """Connect and subscribe, call ``connected()``, and return why the connection ended.

        Raises PermanentError when the broker refuses for good (credentials, authorisation,
        topic), ConnectionError when this attempt failed. Cancelled, it sends what is queued
        (acks) and DISCONNECT; the broker keeps the session.
        """
        self._loop = loop = asyncio.get_running_loop()
        self.generation += 1
        generation = self.generation
        self._connack: asyncio.Future[bool] = loop.create_future()
        self._suback: asyncio.Future[None] = loop.create_future()
        self._lost: asyncio.Future[str] = loop.create_future()
        config, client = self.config, self.client
        arguments = connect_arguments(config, self._receive_maximum)
        try:
            await asyncio.to_thread(
                client.connect, config.host, config.port, KEEPALIVE, **arguments
            )
        except (OSError, ValueError) as exc:
            raise ConnectionError(f"cannot connect: {exc}") from None
        client.loop_start()
        try:
            session_present = await self._handshake(self._connack, "CONNACK")
            # A kept session resends unacked messages right away, before any SUBACK.
            self.connected = generation
            if session_present:
                # The kept session's backlog arrives before any SUBACK, and paho reads on only
                # as deliveries make room; deliveries flow once the source reports itself up.
                # So it is up now, and the SUBACK (a refusal too) is awaited after that.
                connected()
            if not (session_present and self._subscribed):
                client.subscribe(**subscription(config))
                within = None if session_present else HANDSHAKE_TIMEOUT
                await self._handshake(self._suback, "SUBACK", within)
                self._subscribed = True
            if not session_present:
                connected()
            return await self._lost
        finally:
            self.connected = None
            client.disconnect()
            await asyncio.to_thread(client.loop_stop)

    async def _handshake(
        self, answer: asyncio.Future[Any], packet: str, within: float | None = HANDSHAKE_TIMEOUT
    ) -> Any:
        """``answer``'s result once settled; ConnectionError when the connection is lost first,
        or nothing came ``within`` seconds (None: wait as long as the connection lasts)."""
        waiters = {answer, self._lost}
        done, _ = await asyncio.wait(waiters, timeout=within, return_when=asyncio.FIRST_COMPLETED)
        if answer in done:
            return answer.result()  # raises the refusal it was settled with
        if self._lost in done:
            raise ConnectionError(f"connection lost before {packet}: {self._lost.result()}")
        raise ConnectionError(f"no {packet} within {HANDSHAKE_TIMEOUT:g}s")

    # ---------------------------------------------------------------- paho's thread

    def _connected(self, _c: Any, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            refused = f"connection refused: {reason}"
            permanent = reason.value in PERMANENT_REFUSALS
            error = PermanentError(refused) if permanent else ConnectionError(refused)
            post(self._loop, settle, self._connack, None, error)
        else:
            post(self._loop, settle, self._connack, bool(flags.session_present))

    def _subscribe_answered(self, _c: Any, _u: Any, _mid: int, reasons: list[Any], _p: Any) -> None:
        failed = [reason for reason in reasons if reason.is_failure]
        refusal = None
        if failed:
            refusal = PermanentError(f"subscription to {self.config.topic!r} refused: {failed[0]}")
        wanted = subscription_qos(self.config)
        if not failed and reasons and reasons[0].value < wanted:
            log.warning(
                "%s: the broker granted QoS %s, not %s", self._label, reasons[0].value, wanted
            )
        post(self._loop, settle, self._suback, None, refusal)

    def _disconnected(self, _c: Any, _u: Any, _flags: Any, reason: Any, _p: Any) -> None:
        post(self._loop, settle, self._lost, f"disconnected: {reason}")

    def _message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        self._on_message(message, self.generation)


# -------------------------------------------------------------------- the client, from config


def build_client(config: MQTTConfig) -> mqtt.Client:
    """A client that acknowledges only when told to (``manual_ack``) and never reconnects by
    itself: the supervisor reconnects with the config's backoff. Raises GatewayError naming
    the field when TLS files or the password cannot be read."""
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=config.client_id,
        clean_session=None if config.mqtt5 else config.clean_session,
        protocol=mqtt.MQTTv5 if config.mqtt5 else mqtt.MQTTv311,
        transport="websockets" if config.websockets else "tcp",
        reconnect_on_failure=False,
        manual_ack=True,
    )
    if config.websockets:
        client.ws_set_options(path=config.path)
    if config.secure:
        client.tls_set_context(client_context(config.tls))
        if config.tls is not None and config.tls.insecure_skip_verify:
            client.tls_insecure_set(True)
    credentials = _credentials(config)
    if credentials is not None:
        client.username_pw_set(*credentials)
    return client


def connect_arguments(config: MQTTConfig, receive_maximum: int) -> dict[str, Any]:
    """Keyword arguments of ``Client.connect`` for the session the config asks for.

    MQTT 5 keeps the session with ``clean_start=False`` plus a session expiry, and Receive
    Maximum caps the unacknowledged QoS 1/2 messages the broker sends at once. MQTT 3.1.1 has
    only the client's ``clean_session`` flag.
    """
    if not config.mqtt5:
        return {}
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = config.session_expiry_interval
    properties.ReceiveMaximum = receive_maximum
    return {"clean_start": config.clean_session, "properties": properties}


def subscription_qos(config: MQTTConfig) -> int:
    """The QoS to subscribe with: ``qos`` 2 subscribes at QoS 1.

    paho answers a QoS 2 PUBLISH with PUBREC on arrival, after which the broker keeps only the
    packet id; with manual acks a restarted client never completes a PUBREL it no longer
    knows, so each such message is lost and wedges a slot of the session's in-flight window
    for good. QoS 1 keeps the whole message at the broker until the ack after delivery, which
    is what at-least-once to the watchers needs (duplicates, never loss).
    """
    return min(config.qos, 1)


def subscription(config: MQTTConfig) -> dict[str, Any]:
    """Keyword arguments of ``Client.subscribe``. MQTT 5 asks for retained messages only when
    the subscription is new, so a reconnect does not replay them."""
    qos = subscription_qos(config)
    if config.mqtt5:
        return {"topic": config.topic, "options": SubscribeOptions(qos=qos, retainHandling=1)}
    return {"topic": config.topic, "qos": qos}


def _credentials(config: MQTTConfig) -> tuple[str, str | None] | None:
    if config.auth is not None:
        password = resolve(config.auth.password) if config.auth.password else None
        return config.auth.username, password
    parts = urlsplit(config.url)
    if parts.username:
        password = unquote(parts.password) if parts.password is not None else None
        return unquote(parts.username), password
    return None
