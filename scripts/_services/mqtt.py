"""MQTT: Debian's mosquitto with anonymous, password and TLS listeners."""

from __future__ import annotations

from pathlib import Path

from . import probes
from .base import Service, make_tls
from .common import HOST, Proc, apt_install, deb_version, run

PORT = 11883
AUTH_PORT = 11884
TLS_PORT = 18883
USER = "gateways"
PASSWORD = "gateways-mqtt-secret"  # noqa: S105 - fixed test credential


class Mqtt(Service):
    name = "mqtt"
    start_timeout = 30.0

    @property
    def tls(self) -> Path:
        return self.state / "tls"

    def install(self) -> None:
        apt_install(["mosquitto", "openssl"], self.install_log)

    def prepare(self) -> None:
        (self.state / "data").mkdir(parents=True, exist_ok=True)
        make_tls(self.tls, "localhost", ["localhost"], [HOST], self.install_log)
        passwd = self.state / "passwd"
        passwd.unlink(missing_ok=True)
        run(
            ["/usr/bin/mosquitto_passwd", "-b", "-c", str(passwd), USER, PASSWORD],
            log=self.install_log,
        )
        passwd.chmod(0o600)
        (self.state / "mosquitto.conf").write_text(
            "user root\n"
            "per_listener_settings true\n"
            "persistence true\n"
            f"persistence_location {self.state / 'data'}/\n"
            "log_dest stderr\n"
            "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
            f"\nlistener {PORT} {HOST}\nallow_anonymous true\n"
            f"\nlistener {AUTH_PORT} {HOST}\nallow_anonymous false\n"
            f"password_file {passwd}\n"
            f"\nlistener {TLS_PORT} {HOST}\nallow_anonymous true\n"
            f"cafile {self.tls / 'ca.crt'}\n"
            f"certfile {self.tls / 'server.crt'}\n"
            f"keyfile {self.tls / 'server.key'}\n"
        )

    def procs(self) -> list[Proc]:
        conf = str(self.state / "mosquitto.conf")
        return [Proc("mosquitto", ["/usr/sbin/mosquitto", "-c", conf], self.state)]

    def healthy(self) -> bool:
        ca = str(self.tls / "ca.crt")
        return (
            probes.mqtt(PORT)
            and probes.mqtt(AUTH_PORT, USER, PASSWORD)
            and not probes.mqtt(AUTH_PORT, USER, PASSWORD + "-wrong")
            and probes.mqtt(TLS_PORT, cafile=ca)
        )

    def env(self) -> dict[str, str]:
        return {
            "GATEWAYS_TEST_MQTT_HOST": HOST,
            "GATEWAYS_TEST_MQTT_PORT": str(PORT),
            "GATEWAYS_TEST_MQTT_AUTH_PORT": str(AUTH_PORT),
            "GATEWAYS_TEST_MQTT_TLS_PORT": str(TLS_PORT),
            "GATEWAYS_TEST_MQTT_USER": USER,
            "GATEWAYS_TEST_MQTT_PASSWORD": PASSWORD,
            "GATEWAYS_TEST_MQTT_CA": str(self.tls / "ca.crt"),
        }

    def versions(self) -> str:
        return deb_version("mosquitto")
