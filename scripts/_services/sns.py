"""SNS: moto's server mode (PyPI `moto[server]`, pinned) in a virtualenv of its own, cached."""

from __future__ import annotations

import sys
from pathlib import Path

from . import probes
from .base import Service
from .common import HOST, Proc, ServiceError, file_lock, run, say

VERSION = "5.2.1"
PORT = 14566
REGION = "us-east-1"
ACCESS_KEY = "gateways-sns"  # moto takes any credentials
SECRET_KEY = "gateways-sns-secret"  # noqa: S105 - fixed test credential


class Sns(Service):
    name = "sns"
    start_timeout = 60.0

    @property
    def home(self) -> Path:
        return self.cache / f"moto-{VERSION}"

    @property
    def binary(self) -> Path:
        return self.home / "bin" / "moto_server"

    def install(self) -> None:
        if (self.home / ".complete").exists():
            return
        with file_lock(self.cache / f"moto-{VERSION}.lock"):
            if (self.home / ".complete").exists():
                return
            log = self.install_log
            say(f"  pip install moto[server]=={VERSION} into {self.home} (log: {log})")
            run([sys.executable, "-m", "venv", "--clear", str(self.home)], log=log)
            pip = str(self.home / "bin" / "pip")
            run(
                [pip, "install", "-q", "--disable-pip-version-check", f"moto[server]=={VERSION}"],
                log=log,
            )
            if not self.binary.exists():
                raise ServiceError(f"pip made no {self.binary}; see {log}")
            (self.home / ".complete").write_text(f"moto[server]=={VERSION}\n")

    def procs(self) -> list[Proc]:
        argv = [str(self.binary), "-H", HOST, "-p", str(PORT)]
        return [Proc("moto_server", argv, self.state)]

    def healthy(self) -> bool:
        return probes.sns(PORT, REGION, ACCESS_KEY)

    def env(self) -> dict[str, str]:
        return {
            "GATEWAYS_TEST_SNS_ENDPOINT": f"http://{HOST}:{PORT}",
            "GATEWAYS_TEST_SNS_REGION": REGION,
            "GATEWAYS_TEST_SNS_ACCESS_KEY": ACCESS_KEY,
            "GATEWAYS_TEST_SNS_SECRET_KEY": SECRET_KEY,
        }

    def versions(self) -> str:
        return f"moto[server] {VERSION} (PyPI, own virtualenv)"
