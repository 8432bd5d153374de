"""MQTT source config: one topic filter, QoS, a persistent session, MQTT 5 by default.

Defaults, and why:

- ``qos: 1``: at-least-once from the broker; a message is acknowledged (PUBACK) only after
  delivery.
- ``cleanSession: false``: the broker keeps the session (subscription and unacknowledged QoS
  1/2 messages) while the gateway is down, so ``clientId`` is required and must be stable. In
  MQTT 5 this is ``clean_start: false`` with a session expiry that never ends
  (:data:`SESSION_EXPIRY_NEVER`).
- ``protocolVersion: 5``: user properties carry CloudEvents attributes and shared
  subscriptions (``$share/<group>/<filter>``) spread messages over replicas. Set ``3.1.1`` for
  a broker that does not speak MQTT 5.

``format: s3``: each message is an S3 event notification (a MinIO bucket's MQTT target), one
event per record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from gateways.config.common import Backoff, BasicAuth, TLSConfig, parse_url
from gateways.config.fields import Fields
from gateways.events.s3 import FORMATS

SCHEMES = frozenset({"tcp", "ssl", "mqtt", "mqtts", "ws", "wss"})
SECURE_SCHEMES = frozenset({"ssl", "mqtts", "wss"})
DEFAULT_PORTS = {"tcp": 1883, "mqtt": 1883, "ssl": 8883, "mqtts": 8883, "ws": 80, "wss": 443}
PROTOCOL_VERSIONS = {"3.1.1": "3.1.1", "311": "3.1.1", "4": "3.1.1", "5": "5", "5.0": "5"}
SESSION_EXPIRY_NEVER = 0xFFFFFFFF
_MAX_TOPIC_BYTES = 65535


def topic_problem(topic: str) -> str | None:
    """Why ``topic`` is not a valid MQTT topic filter, or None."""
    if not topic:
        return "must not be empty"
    if "\x00" in topic:
        return f"{topic!r} contains a NUL character"
    if len(topic.encode()) > _MAX_TOPIC_BYTES:
        return f"is longer than {_MAX_TOPIC_BYTES} bytes"
    if topic.startswith("$share/"):
        parts = topic.split("/", 2)
        if len(parts) < 3 or not parts[1] or any(char in parts[1] for char in "+#"):
            return f"{topic!r} is not a shared subscription '$share/<group>/<filter>'"
        return topic_problem(parts[2])
    levels = topic.split("/")
    for index, level in enumerate(levels):
        if "#" in level and (level != "#" or index != len(levels) - 1):
            return f"{topic!r}: '#' must be a whole level and the last one"
        if "+" in level and level != "+":
            return f"{topic!r}: '+' must be a whole level"
    return None


@dataclass(frozen=True, slots=True)
class MQTTConfig:
    url: str
    topic: str
    client_id: str
    qos: int = 1
    clean_session: bool = False
    protocol_version: str = "5"
    backoff: Backoff = field(default_factory=Backoff)
    tls: TLSConfig | None = None
    auth: BasicAuth | None = None
    format: str = "raw"

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme.lower()

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or DEFAULT_PORTS.get(self.scheme, 1883)

    @property
    def path(self) -> str:
        """The WebSocket path (``ws://``/``wss://`` only)."""
        return urlsplit(self.url).path or "/mqtt"

    @property
    def websockets(self) -> bool:
        return self.scheme in ("ws", "wss")

    @property
    def secure(self) -> bool:
        return self.scheme in SECURE_SCHEMES

    @property
    def mqtt5(self) -> bool:
        return self.protocol_version == "5"

    @property
    def session_expiry_interval(self) -> int | None:
        """MQTT 5 session expiry in seconds (None for 3.1.1, which has only cleanSession)."""
        if not self.mqtt5:
            return None
        return 0 if self.clean_session else SESSION_EXPIRY_NEVER

    @classmethod
    def parse(cls, fields: Fields) -> MQTTConfig:
        url = parse_url(fields, "url", SCHEMES) or ""
        topic = fields.str("topic", required=True) or ""
        if topic and (problem := topic_problem(topic)):
            fields.problem("topic", problem)
        client_id = (fields.str("clientId", required=True) or "").strip()
        qos = fields.int("qos", 1, minimum=0, maximum=2)
        clean_session = fields.bool("cleanSession", False)
        version = fields.str("protocolVersion")
        protocol = "5"
        if version is not None:
            protocol = PROTOCOL_VERSIONS.get(version.strip(), "")
            if not protocol:
                fields.problem("protocolVersion", f"{version!r} is not 3.1.1 or 5")
                protocol = "5"
        tls = TLSConfig.parse(fields)
        if tls is not None and url and urlsplit(url).scheme.lower() not in SECURE_SCHEMES:
            fields.problem("tls", "needs an ssl://, mqtts:// or wss:// url")
        return cls(
            url=url,
            topic=topic,
            client_id=client_id,
            qos=1 if qos is None else qos,
            clean_session=clean_session,
            protocol_version=protocol,
            backoff=Backoff.parse(fields),
            tls=tls,
            auth=BasicAuth.parse(fields),
            format=fields.choice("format", FORMATS, "raw") or "raw",
        )
