"""NATS: Debian's nats-server, twice: JetStream (anonymous) and a user/password listener."""

from __future__ import annotations

from . import probes
from .base import Service
from .common import HOST, Proc, apt_install, deb_version

PORT = 14222
AUTH_PORT = 14223
USER = "gateways"
PASSWORD = "gateways-nats-secret"  # noqa: S105 - fixed test credential


class Nats(Service):
    name = "nats"
    start_timeout = 30.0

    def install(self) -> None:
        apt_install(["nats-server"], self.install_log)

    def prepare(self) -> None:
        self.state.mkdir(parents=True, exist_ok=True)
        (self.state / "jetstream").mkdir(exist_ok=True)
        (self.state / "js.conf").write_text(
            f'listen: "{HOST}:{PORT}"\n'
            'server_name: "gateways-nats"\n'
            "jetstream {\n"
            f'  store_dir: "{self.state / "jetstream"}"\n'
            "  max_memory_store: 256MB\n"
            "  max_file_store: 2GB\n"
            "}\n"
        )
        (self.state / "auth.conf").write_text(
            f'listen: "{HOST}:{AUTH_PORT}"\n'
            'server_name: "gateways-nats-auth"\n'
            f'authorization {{\n  user: "{USER}"\n  password: "{PASSWORD}"\n}}\n'
        )

    def procs(self) -> list[Proc]:
        exe = "/usr/sbin/nats-server"
        return [
            Proc("nats-js", [exe, "-c", str(self.state / "js.conf")], self.state),
            Proc("nats-auth", [exe, "-c", str(self.state / "auth.conf")], self.state),
        ]

    def healthy(self) -> bool:
        return (
            probes.nats(PORT, jetstream=True)
            and probes.nats(AUTH_PORT, USER, PASSWORD)
            and not probes.nats(AUTH_PORT, USER, PASSWORD + "-wrong")
        )

    def env(self) -> dict[str, str]:
        return {
            "GATEWAYS_TEST_NATS_URL": f"nats://{HOST}:{PORT}",
            "GATEWAYS_TEST_NATS_AUTH_URL": f"nats://{HOST}:{AUTH_PORT}",
            "GATEWAYS_TEST_NATS_USER": USER,
            "GATEWAYS_TEST_NATS_PASSWORD": PASSWORD,
        }

    def versions(self) -> str:
        return deb_version("nats-server")
