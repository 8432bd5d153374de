"""A gateway-era server in a network namespace of its own (tests/netns_host.py), reached
through a Unix socket."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
HOME = Path(os.environ.get("GATEWAYS_SEED_SERVERS") or Path.home() / ".cache/gateways-seed-servers")
BINARIES = {version: HOME / version / "calendar-server" for version in ("v0.10", "v0.12")}
PORT = 9101  # inside the namespace, where nothing else listens


class SeedServer:
    """One release's calendar server under ``unshare --net``; it reads only
    ``GATEWAY_SERVER_PORT`` and listens on every interface of its namespace."""

    def __init__(self, version: str) -> None:
        self.version = version
        # Unix socket paths are short (108 bytes): not under pytest's deep tmp_path.
        self.folder = Path(tempfile.mkdtemp(prefix="seed-", dir="/tmp"))
        self.socket = self.folder / "server.sock"
        self.address = f"unix:{self.socket}"
        self.process: asyncio.subprocess.Process | None = None
        self.server_pid = 0

    async def start(self) -> SeedServer:
        unshare = ["unshare", "--net"] if os.geteuid() == 0 else ["unshare", "-rn"]
        host = str(HERE.parent / "netns_host.py")
        command = [
            str(self.socket),
            str(PORT),
            "--wait",
            "--again",
            "--",
            str(BINARIES[self.version]),
        ]
        environment = {**os.environ, "GATEWAY_SERVER_PORT": str(PORT)}
        with (self.folder / "server.log").open("wb") as log:  # the server's own logs
            self.process = await asyncio.create_subprocess_exec(
                *unshare, sys.executable, host, *command,
                stdout=asyncio.subprocess.PIPE, stderr=log, env=environment,
            )  # fmt: skip
        await self._server_started()
        return self

    def kill_server(self) -> None:
        """SIGKILL the server; the Unix socket stays, refusing until it is started again."""
        os.kill(self.server_pid, signal.SIGKILL)

    async def start_server_again(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGUSR1)
        await self._server_started()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await asyncio.wait_for(self.process.wait(), 15)
        shutil.rmtree(self.folder, ignore_errors=True)

    async def _server_started(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), 30)
        if not line.startswith(b"started "):
            raise AssertionError(f"{self.version} server did not start: {line!r}")
        self.server_pid = int(line.split()[1])
