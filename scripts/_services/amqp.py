"""AMQP: Debian's rabbitmq-server run as its own node, everything under the state folder."""

from __future__ import annotations

import contextlib
from pathlib import Path

from . import probes
from .base import Service
from .common import HOST, Proc, ServiceError, apt_install, deb_version, run

PORT = 35672
DIST_PORT = 35673
EPMD_PORT = 34369
NODE = "gateways@localhost"
USER = "guest"
PASSWORD = "guest"  # noqa: S105 - RabbitMQ's default, loopback only
BIN = "/usr/lib/rabbitmq/bin"


def _distro_node_running() -> bool:
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            args = cmdline.read_bytes().split(b"\0")
            if args and args[0].endswith(b"beam.smp") and b"rabbit@" in b" ".join(args):
                return True
    return False


class Amqp(Service):
    name = "amqp"
    start_timeout = 120.0

    def node_env(self) -> dict[str, str]:
        return {
            "HOME": str(self.state),  # the Erlang cookie lives here, not in /var/lib/rabbitmq
            "RABBITMQ_NODENAME": NODE,
            "RABBITMQ_NODE_IP_ADDRESS": HOST,
            "RABBITMQ_NODE_PORT": str(PORT),
            "RABBITMQ_DIST_PORT": str(DIST_PORT),
            "ERL_EPMD_PORT": str(EPMD_PORT),
            "ERL_EPMD_ADDRESS": HOST,
            "RABBITMQ_MNESIA_BASE": str(self.state / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.state / "log"),
            "RABBITMQ_LOGS": "-",
            "RABBITMQ_CONFIG_FILE": str(self.state / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.state / "advanced.config"),
            "RABBITMQ_CONF_ENV_FILE": str(self.state / "rabbitmq-env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.state / "enabled_plugins"),
            "RABBITMQ_PID_FILE": str(self.state / "beam.pid"),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }

    def install(self) -> None:
        apt_install(["rabbitmq-server"], self.install_log)
        # Debian's postinst starts the distro node where policy-rc.d allows it. Ours has its
        # own node name, ports and epmd, but stop that one so it holds no memory or ports.
        # (Only when it runs: `service ... stop` would itself start an epmd on 4369.)
        if _distro_node_running():
            with contextlib.suppress(Exception):
                run(["service", "rabbitmq-server", "stop"], check=False, timeout=60)

    def prepare(self) -> None:
        for sub in ("mnesia", "log"):
            (self.state / sub).mkdir(parents=True, exist_ok=True)
        (self.state / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = {HOST}:{PORT}\n"
            "loopback_users.guest = true\n"
            "disk_free_limit.absolute = 50MB\n"
        )
        (self.state / "rabbitmq-env.conf").write_text("")
        (self.state / "enabled_plugins").write_text("[].\n")

    def procs(self) -> list[Proc]:
        return [Proc("rabbitmq-server", [f"{BIN}/rabbitmq-server"], self.state, self.node_env())]

    def healthy(self) -> bool:
        return probes.amqp(PORT, USER, PASSWORD)

    def start(self) -> None:
        super().start()
        proc = run(
            [f"{BIN}/rabbitmq-diagnostics", "-q", "-n", NODE, "ping"],
            env=self.node_env(),
            check=False,
            timeout=60,
        )
        if proc.returncode != 0:
            raise ServiceError(f"rabbitmq-diagnostics ping failed:\n{proc.stdout}{proc.stderr}")

    def stop(self) -> bool:
        if self.running():
            run(
                [f"{BIN}/rabbitmqctl", "-q", "-n", NODE, "stop"],
                env=self.node_env(),
                check=False,
                timeout=60,
            )
        stopped = super().stop()
        run(
            ["epmd", "-port", str(EPMD_PORT), "-kill"],
            env={"ERL_EPMD_PORT": str(EPMD_PORT)},
            check=False,
            timeout=10,
        )
        return stopped

    def env(self) -> dict[str, str]:
        return {
            "GATEWAYS_TEST_AMQP_URL": f"amqp://{USER}:{PASSWORD}@{HOST}:{PORT}/%2F",
            "GATEWAYS_TEST_AMQP_HOST": HOST,
            "GATEWAYS_TEST_AMQP_PORT": str(PORT),
            "GATEWAYS_TEST_AMQP_USER": USER,
            "GATEWAYS_TEST_AMQP_PASSWORD": PASSWORD,
        }

    def versions(self) -> str:
        return deb_version("rabbitmq-server")
