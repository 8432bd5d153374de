"""A command in a network namespace holding only ``lo``, reached through Unix sockets.

Programs that listen on every interface, or on fixed ports (of-watchdog on ``:8080``, the
python3-http template on ``0.0.0.0:5000``, the seed era's gateway servers), run here where
those ports are their own, as in a pod (``unshare --net``). Paths cross network namespaces, so
Unix sockets carry the traffic:

- INBOUND: connections to that socket are forwarded to ``127.0.0.1:PORT`` inside;
- ``--out PORT=SOCKET``: ``127.0.0.1:PORT`` inside is forwarded to that socket (the test
  process bridges it on to the same port on its own loopback, where a watcher listens).

The command runs with this process's environment, its output on stderr. Each start prints
``started <pid>`` on stdout (with ``--wait``, once PORT takes connections); SIGTERM is passed
on to it. It ends when the command does, unless
``--again``: then SIGUSR1 starts the command again after it died (a test kills it with SIGKILL
by its pid), and SIGTERM ends it.

    unshare --net python netns_host.py INBOUND PORT [--out PORT=SOCKET ...] [--wait] [--again]
        -- COMMAND ...
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
from typing import Any


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(OSError):
        writer.close()


async def splice(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    connect: asyncio.Future[tuple[asyncio.StreamReader, asyncio.StreamWriter]],
) -> None:
    try:
        upstream_reader, upstream_writer = await connect
    except OSError:
        writer.close()  # refused on the far side: the client sees the connection dropped
        return
    await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))


async def main(arguments: list[str]) -> int:
    split = arguments.index("--")
    options, command = arguments[:split], arguments[split + 1 :]
    inbound, port = options[0], int(options[1])
    outbound = [
        options[i + 1].split("=", 1) for i in range(2, len(options) - 1) if options[i] == "--out"
    ]
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)

    servers = []
    for out_port, out_socket in outbound:

        async def out(
            r: asyncio.StreamReader, w: asyncio.StreamWriter, path: str = out_socket
        ) -> None:
            await splice(r, w, asyncio.ensure_future(asyncio.open_unix_connection(path)))

        servers.append(await asyncio.start_server(out, "127.0.0.1", int(out_port)))

    async def into(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await splice(r, w, asyncio.ensure_future(asyncio.open_connection("127.0.0.1", port)))

    servers.append(await asyncio.start_unix_server(into, inbound))
    loop = asyncio.get_running_loop()
    ending = asyncio.Event()
    restart = asyncio.Event()
    again = "--again" in options
    code = 0
    while True:
        process = await asyncio.create_subprocess_exec(*command, stdout=sys.stderr)
        loop.add_signal_handler(signal.SIGTERM, _end, process, ending)
        if "--wait" in options:
            await _listening(port)
        print(f"started {process.pid}", flush=True)
        code = await process.wait()
        if not again or ending.is_set():
            break
        loop.add_signal_handler(signal.SIGUSR1, restart.set)
        loop.add_signal_handler(signal.SIGTERM, ending.set)
        await _first(restart.wait(), ending.wait())
        if ending.is_set():
            break
        restart.clear()
    for server in servers:
        server.close()
    return code


async def _listening(port: int) -> None:
    for _ in range(200):
        try:
            _, probe = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        probe.close()
        return


def _end(process: asyncio.subprocess.Process, ending: asyncio.Event) -> None:
    ending.set()
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)


async def _first(*waits: Any) -> None:
    tasks = [asyncio.ensure_future(wait) for wait in waits]
    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in tasks:
        task.cancel()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
