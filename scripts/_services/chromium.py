"""Chromium: Debian's package, for the status page's real-browser test (no process runs)."""

from __future__ import annotations

import subprocess

from .base import Service
from .common import Proc, apt_install

BINARY = "/usr/bin/chromium"


class Chromium(Service):
    name = "chromium"
    start_timeout = 10.0

    def install(self) -> None:
        apt_install(["chromium"], self.install_log)

    def procs(self) -> list[Proc]:
        return []  # the browser test starts its own, headless

    def healthy(self) -> bool:
        return "Chromium" in self.versions()

    def env(self) -> dict[str, str]:
        return {"GATEWAYS_TEST_CHROMIUM": BINARY}

    def versions(self) -> str:
        try:
            done = subprocess.run(
                [BINARY, "--version"], capture_output=True, text=True, timeout=30, check=False
            )
        except (OSError, subprocess.SubprocessError):
            return ""
        return done.stdout.strip() if done.returncode == 0 else ""
