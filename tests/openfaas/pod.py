"""One function served by the real of-watchdog in ``http`` mode, in a pod of its own.

The pod is a network namespace holding only ``lo`` (tests/netns_host.py); ``/home/app`` is the
shrinkwrapped build context laid out as the template's Dockerfile lays it out. The test process
bridges the pod: ``url`` (a free port on 127.0.0.1 here) reaches the watchdog's port 8080
there, and each port in ``outbound`` there reaches the same port here (a watcher).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path

from tests.netns_host import pipe
from tests.openfaas.tools import HERE, WATCHDOG

WATCHDOG_PORT = 8080  # the watchdog's default, as in the image
# The template's Dockerfile (ship stage): the watchdog's settings baked into the image.
TEMPLATE_ENV = {
    "fprocess": "python index.py",
    "cgi_headers": "true",
    "mode": "http",
    "upstream_url": "http://127.0.0.1:5000",
}


class Pod:
    def __init__(
        self,
        home: Path,
        env: Mapping[str, str],
        python_bin: Path,
        outbound: Sequence[int] = (),
    ) -> None:
        self.home = home
        self.env = dict(env)
        self.python_bin = python_bin
        self.outbound = tuple(outbound)
        # Unix socket paths are short (108 bytes): not under pytest's deep tmp_path.
        self.folder = Path(tempfile.mkdtemp(prefix="ofpod-", dir="/tmp"))
        self.log = self.folder / "watchdog.log"
        self.port = 0
        self.process: asyncio.subprocess.Process | None = None
        self._servers: list[asyncio.Server] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    async def start(self) -> Pod:
        inbound = self.folder / "in.sock"
        outs: list[str] = []
        for port in self.outbound:
            path = self.folder / f"out-{port}.sock"
            self._servers.append(
                await asyncio.start_unix_server(partial(_to, "127.0.0.1", port), path)
            )
            outs += ["--out", f"{port}={path}"]
        listener = await asyncio.start_server(partial(_to_unix, str(inbound)), "127.0.0.1", 0)
        self._servers.append(listener)
        self.port = listener.sockets[0].getsockname()[1]
        (self.folder / "tmp").mkdir()  # the watchdog's lock file: $TMPDIR/.lock
        env = {
            "PATH": f"{self.python_bin}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.home),
            "TMPDIR": str(self.folder / "tmp"),
            **TEMPLATE_ENV,
            **self.env,
        }
        with self.log.open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                "unshare", "--net", sys.executable, str(HERE.parent / "netns_host.py"),
                str(inbound), str(WATCHDOG_PORT), *outs, "--", str(WATCHDOG),
                cwd=self.home, env=env, stdout=asyncio.subprocess.PIPE, stderr=log,
                start_new_session=True,
            )  # fmt: skip
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), 30)
        assert line.startswith(b"started "), f"the pod did not start: {line!r}\n{self.logs()}"
        return self

    def logs(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    async def stop(self) -> None:
        process = self.process
        if process is not None and process.returncode is None:
            # The whole session: the watchdog, and the function server it forked.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                await process.wait()
        for server in self._servers:
            server.close()
        shutil.rmtree(self.folder, ignore_errors=True)


async def _to(
    host: str, port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        upstream_reader, upstream_writer = await asyncio.open_connection(host, port)
    except OSError:
        writer.close()
        return
    await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))


async def _to_unix(path: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        upstream_reader, upstream_writer = await asyncio.open_unix_connection(path)
    except OSError:
        writer.close()
        return
    await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))
