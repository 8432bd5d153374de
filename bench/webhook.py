"""Webhook throughput: requests/s accepted and delivered, and CPU per request, beside peers.

Every row is a server answering POST /example, loaded the same way (--requests POSTs of a small
JSON body, --concurrency at once, after a warm-up of 500), one row at a time, with one counting
watcher process all along:
- bare aiohttp endpoint: POSTs each request body to the watcher with one pooled client session
  and answers 200; the least any webhook-to-watcher hop can do (the floor).
- ours: ``gateways up`` with one webhook source: routing, the CloudEvent builder, delivery
  bookkeeping, answering only after the watcher took the event.
- functions-framework hello world: a function returning "Hello World!", served by
  ``functions-framework --target hello`` as its documentation shows (gunicorn, one worker,
  its default threads); it delivers nothing, so it bounds what that framework can do.
- our webhook function served directly: ``gateways serve webhook`` (aiohttp; how it runs in a
  container or as a Knative Service), the same registry and watcher.
- our webhook function under the real OpenFaaS runtime: of-watchdog in ``http`` mode with the
  python3-http template's index.py (bench/peers/watchdog.py), the same registry and watcher.
CPU: user + system seconds of the row's server processes and their children (/proc), per
1,000 requests of the measured run; the load generator and the watcher are not counted.

The template and of-watchdog listen on every interface at fixed ports, so the whole run moves
into a network namespace of its own holding only loopback (``unshare --net``) where it can;
rows whose tools are missing print why. Prints; asserts nothing.
Run: python -m bench.webhook [--requests N] [--concurrency C] [--no-netns]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from bench._common import ROOT, configmap, free_port, load, start, start_watcher, stop, wait_http
from bench.peers import watchdog
from bench.peers.cpu import cpu_seconds
from bench.peers.openfaas import Unavailable

NETNS = "GATEWAYS_BENCH_NETNS"  # set inside the namespace the run moved into

BASELINE_CODE = """
import sys
import aiohttp
from aiohttp import web
watcher = sys.argv[2]
async def forward(request):
    body = await request.read()
    headers = {"content-type": "application/json"}
    async with request.app["session"].post(watcher, data=body, headers=headers) as r:
        await r.read()
        return web.Response(status=200 if r.status < 300 else 503)
async def session(app):
    app["session"] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256))
    yield
    await app["session"].close()
app = web.Application()
app.router.add_post("/example", forward)
app.cleanup_ctx.append(session)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""

HELLO_CODE = """
import functions_framework

@functions_framework.http
def hello(request):
    return "Hello World!"
"""


@dataclass
class Row:
    name: str
    rate: float = 0.0  # requests/s
    cpu: float = 0.0  # CPU seconds per 1,000 requests
    why: str = ""  # why there is no figure


@dataclass
class Bench:
    folder: Path
    watcher: str
    requests: int
    concurrency: int

    def registry(self, port: int) -> Path:
        path = self.folder / "registry.yaml"
        example = {"port": port, "endpoint": "/example"}
        path.write_text(configmap("bench", "webhook", {"example": example}, [self.watcher]))
        return path

    def function_env(self) -> dict[str, str]:
        state = self.folder / f"state-{free_port()}"
        return {
            "GATEWAYS_REGISTRY_FILE": str(self.registry(free_port())),
            "GATEWAYS_STATE_DIR": str(state),
            "GATEWAYS_ADMIN_PORT": str(free_port()),
            "GATEWAYS_LOG_LEVEL": "WARNING",
        }


Server = Callable[[Bench], contextlib.AbstractContextManager[tuple[str, list[int]]]]


@contextlib.contextmanager
def processes(*started: subprocess.Popen[bytes]) -> Iterator[list[int]]:
    try:
        yield [process.pid for process in started]
    finally:
        stop(*started)


@contextlib.contextmanager
def bare(bench: Bench) -> Iterator[tuple[str, list[int]]]:
    port = free_port()
    with processes(start([sys.executable, "-c", BASELINE_CODE, str(port), bench.watcher])) as pids:
        yield f"http://127.0.0.1:{port}/example", pids


@contextlib.contextmanager
def ours(bench: Bench) -> Iterator[tuple[str, list[int]]]:
    port = free_port()
    command = [sys.executable, "-m", "gateways.cli", "up", "--file", str(bench.registry(port))]
    command += ["--admin-port", str(free_port())]
    env = {"GATEWAYS_LOG_LEVEL": "WARNING", "GATEWAYS_STATE_DIR": str(bench.folder)}
    with processes(start(command, env=env)) as pids:
        yield f"http://127.0.0.1:{port}/example", pids


@contextlib.contextmanager
def hello(bench: Bench) -> Iterator[tuple[str, list[int]]]:
    source = bench.folder / "hello"
    source.mkdir(exist_ok=True)
    (source / "main.py").write_text(HELLO_CODE)
    port = free_port()
    script = Path(sys.executable).parent / "functions-framework"
    if not script.exists():
        raise Unavailable(f"{script} is not there (pip install functions-framework)")
    command = [str(script), "--target", "hello", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(
        command, cwd=source, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    with processes(process) as pids:
        yield f"http://127.0.0.1:{port}/example", pids


@contextlib.contextmanager
def served(bench: Bench) -> Iterator[tuple[str, list[int]]]:
    port = free_port()
    command = [sys.executable, "-m", "gateways.cli", "serve", "webhook", "--port", str(port)]
    with processes(start(command, env=bench.function_env())) as pids:
        yield f"http://127.0.0.1:{port}/example", pids


@contextlib.contextmanager
def under_watchdog(bench: Bench) -> Iterator[tuple[str, list[int]]]:
    if reason := watchdog.missing():
        raise Unavailable(reason)
    if os.environ.get(NETNS) != "1":
        raise Unavailable("needs a network namespace of its own (unshare --net) for its ports")
    folder = bench.folder / "watchdog"
    folder.mkdir()
    with watchdog.under_watchdog("webhook", folder, bench.function_env()) as process:
        yield watchdog.URL + "example", [process.pid]


ROWS: list[tuple[str, Server]] = [
    ("bare aiohttp endpoint, one POST", bare),
    ("ours: gateways up, webhook source", ours),
    ("functions-framework hello world", hello),
    ("webhook function: gateways serve", served),
    ("webhook function: of-watchdog + python3-http", under_watchdog),
]


async def measure(bench: Bench, name: str, server: Server) -> Row:
    try:
        with server(bench) as (url, pids):
            await wait_http(url, timeout=60, method="POST")
            await load(url, min(500, bench.requests), bench.concurrency)  # warm up
            before = cpu_seconds(pids)
            seconds, failures = await load(url, bench.requests, bench.concurrency)
            used = cpu_seconds(pids) - before
    except Unavailable as reason:
        return Row(name, why=str(reason))
    except TimeoutError:
        return Row(name, why="did not answer within 60 s")
    if failures:
        return Row(name, why=f"{failures} of {bench.requests} requests were not answered 2xx")
    return Row(name, bench.requests / seconds, used * 1000 / bench.requests)


def report(rows: list[Row], bench: Bench) -> None:
    where = "its own network namespace" if os.environ.get(NETNS) == "1" else "host loopback"
    print(
        f"webhook -> watcher, {bench.requests} requests, concurrency {bench.concurrency}, {where}"
    )
    print(f"  {'row':46} {'req/s':>8} {'x bare':>7} {'CPU s / 1,000 req':>18}")
    floor = rows[0].rate
    for row in rows:
        if row.why:
            print(f"  {row.name:46} unavailable: {row.why}")
        else:
            ratio = f"{row.rate / floor:7.2f}" if floor else f"{'-':>7}"
            print(f"  {row.name:46} {row.rate:8.0f} {ratio} {row.cpu:18.3f}")
    ours, hello = rows[1].rate, rows[2].rate
    if ours and floor:
        print(f"  ours / bare endpoint             : {ours / floor:5.2f} x   (target >= 0.8)")
    if ours and hello:
        print(f"  ours / functions-framework hello : {ours / hello:5.2f} x   (target >= 2)")


async def run(args: argparse.Namespace) -> None:
    watcher_port = free_port()
    watcher = start_watcher(watcher_port)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            bench = Bench(
                Path(tmp), f"http://127.0.0.1:{watcher_port}/", args.requests, args.concurrency
            )
            await wait_http(bench.watcher, method="POST")
            rows = [await measure(bench, name, server) for name, server in ROWS]
    finally:
        stop(watcher)
    report(rows, bench)


def move_into_netns() -> None:
    """Run again in a network namespace holding only loopback, where that is allowed."""
    if subprocess.run(["unshare", "--net", "true"], capture_output=True).returncode != 0:
        return
    os.chdir(ROOT)
    command = ["unshare", "--net", "--", sys.executable, "-m", "bench.webhook", *sys.argv[1:]]
    os.execvpe("unshare", command, {**os.environ, NETNS: "1"})  # noqa: S606 (no shell wanted)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.webhook")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--no-netns", action="store_true", help="stay on the host's loopback")
    args = parser.parse_args()
    if os.environ.get(NETNS) == "1":
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    elif not args.no_netns:
        move_into_netns()
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
