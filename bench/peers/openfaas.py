"""The OpenFaaS nats-connector as a peer: NATS -> nats-connector -> gateway -> watcher.

The connector is the real one, built by hand from its public source outside this project
(openfaas/nats-connector with connector-sdk v0.6.7 and faas-provider v0.19.1, the versions its
go.mod names): ``bin/nats-connector`` in ``GATEWAYS_OPENFAAS_TOOLS`` (default
``~/.cache/gateways-openfaas``). The gateway is our stand-in (gateway_standin/main.go says what
it stands in for and what it leaves out), built with ``go build`` into
``~/.cache/gateways-bench``. The watcher plays the function: the gateway proxies each
invocation to it.

The connector runs as deployed next to a gateway with basic auth: ``basic_auth=true`` and the
secret files, a queue subscription on the subject, the topic map rebuilt every 5 s (its
default), and ``asynchronous_invocation=false``: each message is POSTed to ``/function/<name>``
and answered before the next, the mode comparable to ours (the asynchronous one only queues
the message in the gateway). It neither retries nor acks: a message whose invocation fails is
logged and dropped.

Smoke: ``python -m bench.peers.openfaas [--nats-url URL] [--messages 1000]`` starts a
nats-server of its own (unless given one) and a tiny counting watcher, publishes the messages
and prints how many reached the watcher and the rate.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import http.client
import json
import os
import secrets
import selectors
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import nats
from aiohttp import web

from bench._common import free_port, stop
from bench.peers.cpu import cpu_seconds

HERE = Path(__file__).resolve().parent
TOOLS = Path(os.environ.get("GATEWAYS_OPENFAAS_TOOLS") or Path.home() / ".cache/gateways-openfaas")
CONNECTOR = TOOLS / "bin" / "nats-connector"
BUILDS = Path.home() / ".cache" / "gateways-bench"
STANDIN_SOURCE = HERE / "gateway_standin" / "main.go"
FUNCTION = "bench"
START_TIMEOUT = 30.0


class Unavailable(Exception):
    """The peer cannot run here; the message says what is missing."""


def standin_binary() -> Path:
    """The gateway stand-in, built once per version of its source."""
    digest = hashlib.sha256(STANDIN_SOURCE.read_bytes()).hexdigest()[:12]
    binary = BUILDS / f"gateway-standin-{digest}"
    if binary.exists():
        return binary
    go = shutil.which("go")
    if go is None:
        raise Unavailable("`go` is not on PATH: it builds bench/peers/gateway_standin")
    BUILDS.mkdir(parents=True, exist_ok=True)
    partial = binary.with_suffix(".partial")
    built = subprocess.run(
        [go, "build", "-o", str(partial), STANDIN_SOURCE.name],
        cwd=STANDIN_SOURCE.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if built.returncode != 0:
        raise Unavailable(f"go build of the gateway stand-in failed: {built.stderr.strip()}")
    partial.rename(binary)
    return binary


def broker_host(nats_url: str) -> str:
    """The connector's ``broker_host`` for this URL. It dials ``nats://<broker_host>:4222``;
    for another port, ``host:port/`` puts that fixed ``:4222`` in the URL's path, which the
    NATS client ignores."""
    netloc = urlsplit(nats_url).netloc
    if not netloc:
        raise ValueError(f"not a NATS URL: {nats_url!r}")
    return netloc if urlsplit(nats_url).port in (None, 4222) else f"{netloc}/"


@contextlib.contextmanager
def nats_connector(
    nats_url: str, subject: str, watcher_url: str
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """The peer subscribed to ``subject`` on ``nats_url`` and invoking a function the gateway
    stand-in proxies to ``watcher_url`` (any path of it answers). Blocks until the connector
    has discovered the function (a probe on a subject of its own reaches the stand-in, never
    the watcher), then yields [stand-in, connector] for CPU accounting; stops both on exit.
    Raises Unavailable when the connector binary or ``go`` is missing, or the peer does not
    come up within 30 s."""
    if not os.access(CONNECTOR, os.X_OK):
        raise Unavailable(
            f"{CONNECTOR} is not there: build openfaas/nats-connector by hand (README, Performance)"
        )
    binary = standin_binary()
    probe = f"bench-probe-{secrets.token_hex(4)}"
    with tempfile.TemporaryDirectory(prefix="nats-connector-") as folder:
        secret = Path(folder) / "secrets"
        secret.mkdir()
        (secret / "basic-auth-user").write_text("admin")
        (secret / "basic-auth-password").write_text(secrets.token_hex(16))
        port = free_port()
        processes: list[subprocess.Popen[bytes]] = []
        try:
            with (Path(folder) / "gateway.log").open("wb") as log:
                standin = subprocess.Popen(
                    [str(binary), "-listen", f"127.0.0.1:{port}", "-upstream", watcher_url,
                     "-function", FUNCTION, "-topic", subject, "-probe-topic", probe,
                     "-auth-dir", str(secret)],
                    stdout=subprocess.PIPE, stderr=log,
                )  # fmt: skip
            processes.append(standin)
            _wait_healthy(port, standin)
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "broker_host": broker_host(nats_url),
                "topics": f"{subject},{probe}",
                "gateway_url": f"http://127.0.0.1:{port}",
                "asynchronous_invocation": "false",
                "basic_auth": "true",
                "secret_mount_path": str(secret),
                "upstream_timeout": "60s",
                "rebuild_interval": "5s",
            }
            connector_log = Path(folder) / "connector.log"
            with connector_log.open("wb") as log:
                processes.append(
                    subprocess.Popen([str(CONNECTOR)], env=env, stdout=log, stderr=log)
                )
            _await_probe(nats_url, probe, standin, processes[1], connector_log)
            yield processes
        finally:
            stop(*processes)
            for process in processes:
                if process.stdout is not None:
                    process.stdout.close()


def _wait_healthy(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        with contextlib.suppress(OSError):
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                connection.close()
                return
        connection.close()
        time.sleep(0.05)
    raise Unavailable(f"the gateway stand-in did not answer on port {port} (exit {process.poll()})")


def _await_probe(
    nats_url: str,
    probe: str,
    standin: subprocess.Popen[bytes],
    connector: subprocess.Popen[bytes],
    log: Path,
) -> None:
    """Publish to the probe subject until the stand-in says the connector invoked the probe
    function: by then its topic map holds the bench function as well (one sync fills both)."""
    assert standin.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT
    with selectors.DefaultSelector() as selector:
        selector.register(standin.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline and connector.poll() is None:
            with contextlib.suppress(OSError):
                publish(nats_url, probe, b"probe")
            if selector.select(timeout=0.1) and standin.stdout.readline().strip() == b"probed":
                return
    tail = log.read_text(errors="replace")[-1500:]
    raise Unavailable(
        f"the nats-connector did not invoke the probe function within {START_TIMEOUT:.0f} s "
        f"(exit {connector.poll()}); its log ends:\n{tail}"
    )


def publish(nats_url: str, subject: str, payload: bytes) -> None:
    """One message over NATS's text protocol, flushed by a PING/PONG round trip (blocking and
    standard library only, so the context manager runs inside or outside an event loop)."""
    parts = urlsplit(nats_url)
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 4222), 5) as sock:
        reader = sock.makefile("rb")
        reader.readline()  # INFO
        auth = ""
        if parts.username:
            auth = f',"user":"{parts.username}","pass":"{parts.password or ""}"'
        sock.sendall(
            f'CONNECT {{"verbose":false,"pedantic":false{auth}}}\r\n'.encode()
            + f"PUB {subject} {len(payload)}\r\n".encode()
            + payload
            + b"\r\nPING\r\n"
        )
        while (line := reader.readline()) and not line.startswith(b"PONG"):
            if line.startswith(b"-ERR"):
                raise OSError(line.decode(errors="replace").strip())


async def smoke(nats_url: str, messages: int) -> None:
    arrivals: list[float] = []

    async def receive(request: web.Request) -> web.Response:
        await request.read()
        arrivals.append(time.perf_counter())
        return web.Response()

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    subject = f"bench-smoke-{secrets.token_hex(4)}"
    try:
        with contextlib.ExitStack() as stack:
            peer = nats_connector(nats_url, subject, f"http://127.0.0.1:{port}/")
            processes = await asyncio.to_thread(stack.enter_context, peer)
            pids = [process.pid for process in processes]
            client = await nats.connect(nats_url)
            cpu, started = cpu_seconds(pids), time.perf_counter()
            for n in range(messages):
                await client.publish(subject, json.dumps({"n": n}).encode())
            await client.flush()
            seen = -1
            while len(arrivals) < messages and len(arrivals) != seen:  # until done or stalled
                seen = len(arrivals)
                await asyncio.sleep(1.0)
            cpu = cpu_seconds(pids) - cpu
            await client.close()
    finally:
        await runner.cleanup()
    seconds = (arrivals[-1] - started) if arrivals else float("nan")
    print(f"nats-connector -> gateway stand-in -> watcher, {messages} messages on {nats_url}")
    print(f"  reached the watcher : {len(arrivals)} of {messages}")
    print(f"  rate                : {len(arrivals) / seconds:8.0f} messages/s")
    print(f"  CPU                 : {cpu * 1000 / max(len(arrivals), 1):8.2f} s per 1,000 (peer)")


@contextlib.contextmanager
def nats_server(nats_url: str | None) -> Iterator[str]:
    """This URL, or a nats-server of our own on a free loopback port."""
    if nats_url:
        yield nats_url
        return
    binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
    port = free_port()
    process = subprocess.Popen(
        [binary, "-a", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit(f"{binary} did not start on port {port}")
            time.sleep(0.05)
        yield f"nats://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.peers.openfaas")
    parser.add_argument("--nats-url", help="a NATS server (default: start one)")
    parser.add_argument("--messages", type=int, default=1000)
    args = parser.parse_args()
    try:
        with nats_server(args.nats_url) as url:
            asyncio.run(smoke(url, args.messages))
    except Unavailable as missing:
        raise SystemExit(f"nats-connector peer unavailable: {missing}") from None


if __name__ == "__main__":
    main()
