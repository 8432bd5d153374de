"""A paho-mqtt client built from an MQTTConfig: protocol, persistent session, TLS and auth."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from gateways.config.mqtt import MQTTConfig
from gateways.secrets import resolve
from gateways.tls import client_context

KEEPALIVE = 30
# CONNACK reasons that no retry will cure (MQTT 5 codes; paho maps 3.1.1's return codes onto
# them): protocol version, client identifier, credentials, authorisation, banned, auth method.
PERMANENT_REFUSALS = frozenset({0x84, 0x85, 0x86, 0x87, 0x8A, 0x8C})


def build_client(config: MQTTConfig) -> mqtt.Client:
    """A client that acknowledges only when told to (``manual_ack``) and never reconnects by
    itself: the source reconnects with the config's backoff. Raises GatewayError naming the
    field when TLS files or the password cannot be read."""
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
