"""A function's pod without a cluster: a network namespace holding only ``lo``.

of-watchdog listens on every interface (``:8080``, metrics on ``:8081``) and the python3-http
template's ``index.py`` on ``0.0.0.0:5000``; none of those ports can be changed for the
function server, so each function runs where they are its own, as in a pod
(``unshare --net``). Paths cross network namespaces, so Unix sockets carry the traffic:

- INBOUND: connections to that socket are forwarded to ``127.0.0.1:PORT`` inside;
- ``--out PORT=SOCKET``: ``127.0.0.1:PORT`` inside is forwarded to that socket (the test
  process bridges it on to the same port on its own loopback, where the watcher listens).

The command (the watchdog) runs with this process's environment. The first line on stdout is
``pod <pid>``; SIGTERM is passed on to the command, which drains and exits.

    unshare --net python pod_host.py INBOUND PORT [--out PORT=SOCKET ...] -- COMMAND ...
"""

from __future__ import annotations

import asyncio
import contextlib
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
        options[i + 1].split("=", 1) for i in range(2, len(options), 2) if options[i] == "--out"
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
    process = await asyncio.create_subprocess_exec(*command, stdout=sys.stderr)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, process.send_signal, signal.SIGTERM)
    print(f"pod {process.pid}", flush=True)
    code = await process.wait()
    for server in servers:
        server.close()
    return code


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
