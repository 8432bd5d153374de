"""What the MQTT tests share: a source config, a publishing client and a Mosquitto of a test's
own. The fixtures built on them are in this folder's conftest.py."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from adapters.streams.mqtt.config import MQTTConfig
from gateways.config import parse_source
from tests.kit import wait_for_port

MOSQUITTO = "/usr/sbin/mosquitto"


def mqtt_config(port: int, topic: str, client_id: str, **fields: Any) -> MQTTConfig:
    """A source on the loopback broker at ``port``, reconnecting within half a second."""
    settings = {
        "url": f"tcp://127.0.0.1:{port}",
        "topic": topic,
        "clientId": client_id,
        "backoff": {"duration": "50ms", "cap": "500ms"},
        **fields,
    }
    config: MQTTConfig = parse_source("mqtt", "test", settings)
    return config


class Publisher:
    """An MQTT 5 client that publishes; ``connect`` names Client methods to call first, e.g.
    ``username_pw_set=("user", "secret")``."""

    def __init__(self, port: int, **connect: Any) -> None:
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        for key, value in connect.items():
            getattr(self.client, key)(*value)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def publish(
        self, topic: str, payload: bytes, qos: int = 1, **properties: Any
    ) -> mqtt.MQTTMessageInfo:
        props = Properties(PacketTypes.PUBLISH)
        for name, value in properties.items():
            setattr(props, name, value)
        return self.client.publish(topic, payload, qos=qos, properties=props)

    def numbers(self, topic: str, numbers: range, qos: int = 1) -> None:
        """Publish ``{"n": n}`` for each number and wait until the broker has them all."""
        infos = [self.publish(topic, json.dumps({"n": n}).encode(), qos) for n in numbers]
        for info in infos:
            info.wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Broker:
    """A Mosquitto with persistence on ``port``, that a test may stop and start again."""

    def __init__(self, port: int, conf: Path) -> None:
        self.port = port
        self.conf = conf
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        await wait_for_port(self.port)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # Mosquitto saves its persistence file
            self.process.wait(10)
        self.process = None
