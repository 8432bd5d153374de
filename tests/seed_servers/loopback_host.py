"""Run a gateway-era server where only loopback exists, reachable through a Unix socket.

The seed's servers listen on every interface (they read only ``GATEWAY_SERVER_PORT``), so this
runs in a network namespace of its own, holding nothing but ``lo`` (``unshare --net``): it
brings ``lo`` up, starts the server there, and forwards connections made to SOCKET (a path,
which crosses network namespaces) to the server's port. SIGUSR1 starts the server again after
it died (a test kills it with SIGKILL by the pid printed on the first line).

    unshare --net python loopback_host.py SOCKET PORT SERVER-BINARY
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(OSError):
        writer.close()


async def main(socket_path: str, port: int, binary: str) -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    environment = {**os.environ, "GATEWAY_SERVER_PORT": str(port)}
    # The server's own output goes to stderr: stdout is this host's, one line per start.
    server = subprocess.Popen([binary], env=environment, stdout=sys.stderr)

    def again() -> None:
        nonlocal server
        if server.poll() is not None:
            server = subprocess.Popen([binary], env=environment, stdout=sys.stderr)
            print(f"server {server.pid}", flush=True)

    async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    for _ in range(200):  # until the server listens
        try:
            _, probe = await asyncio.open_connection("127.0.0.1", port)
            probe.close()
            break
        except OSError:
            await asyncio.sleep(0.05)
    listener = await asyncio.start_unix_server(forward, socket_path)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, again)
    done = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, done.set)
    print(f"server {server.pid}", flush=True)
    try:
        await done.wait()
    finally:
        listener.close()
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
