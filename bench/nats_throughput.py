"""NATS -> watcher: our adapter path beside a raw floor; throughput, then latency at half of it.

Ours (at least once): NATS JetStream durable consumer -> event-source server -> gRPC -> gateway
client -> HTTP batches -> dispatcher function -> one POST per CloudEvent to the watcher; each
message is acked only after the watcher took it. Two processes: the adapter
(``python -m adapters.streams.nats``) and the dispatcher (``gateways serve dispatcher``).

The raw floor: a minimal nats-py subscriber process on the same subject POSTing each message to
the same watcher with aiohttp (core NATS, no acks, nothing built), awaiting each POST as nats-py
calls back message by message. A second floor runs each POST as a task (up to 256 at once).

Throughput: a burst of --messages published as fast as possible, timed until the watcher holds
every one. Latency: --seconds of messages paced at half the path's own throughput, each
carrying its publish time; the watcher records receipt minus publish. Prints; asserts nothing.
Run: python -m bench.nats_throughput [--messages N] [--seconds S] [--nats-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import nats
import yaml

from bench._common import free_port, start, stop, wait_http

WATCHER_CODE = """
import json, sys, time
from aiohttp import web
seen, latencies, counts = set(), [], {"requests": 0}
async def receive(request):
    body = await request.read()
    now = time.time()
    counts["requests"] += 1
    try:
        document = json.loads(body)
        number, sent = document["n"], document["sent"]
    except (ValueError, KeyError, TypeError):
        return web.Response(status=200)
    if number not in seen:
        seen.add(number)
        latencies.append(now - sent)
    return web.Response(status=200)
async def stats(request):
    document = {"unique": len(seen), "requests": counts["requests"]}
    if "latencies" in request.query:
        document["latencies"] = sorted(latencies)
    return web.json_response(document)
async def reset(request):
    seen.clear(); latencies.clear(); counts["requests"] = 0
    return web.Response(status=204)
app = web.Application()
app.router.add_get("/_stats", stats)
app.router.add_post("/_reset", reset)
app.router.add_route("*", "/{tail:.*}", receive)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""

FLOOR_CODE = """
import asyncio, sys
import aiohttp, nats
async def main(url, subject, watcher, concurrent):
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256))
    slots, tasks = asyncio.Semaphore(256), set()
    async def post(msg):
        async with session.post(watcher, data=msg.data,
                                headers={"content-type": "application/json"}) as reply:
            await reply.read()
    async def bounded(msg):
        try:
            await post(msg)
        finally:
            slots.release()
    async def on_message(msg):
        if not concurrent:
            await post(msg)
            return
        await slots.acquire()
        task = asyncio.create_task(bounded(msg))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    client = await nats.connect(url)
    await client.subscribe(subject, cb=on_message, pending_msgs_limit=1_000_000)
    await asyncio.Event().wait()
asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "concurrent"))
"""


def registry(path: Path, nats_url: str, subject: str, stream: str, watcher: str) -> Path:
    source = {
        "url": nats_url,
        "subject": subject,
        "jetStream": {
            "stream": stream,
            "durable": subject.replace(".", "-"),
            "deliverPolicy": "new",
        },
    }
    document = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "bench",
            "labels": {"gateways.dev/type": "nats"},
            "annotations": {"gateways.dev/watchers": yaml.safe_dump([watcher])},
        },
        "data": {"orders": yaml.safe_dump(source)},
    }
    path.write_text(yaml.safe_dump(document))
    return path


async def watcher_stats(
    watcher: str, session: aiohttp.ClientSession, latencies: bool = False
) -> dict[str, object]:
    async with session.get(f"{watcher}_stats" + ("?latencies" if latencies else "")) as reply:
        stats: dict[str, object] = await reply.json()
        return stats


async def reset(watcher: str, session: aiohttp.ClientSession) -> None:
    async with session.post(f"{watcher}_reset") as reply:
        await reply.read()


async def wait_for(
    watcher: str, count: int, session: aiohttp.ClientSession, timeout: float
) -> float:
    """Seconds until the watcher holds ``count`` distinct messages."""
    started = time.perf_counter()
    while True:
        stats = await watcher_stats(watcher, session)
        if int(str(stats["unique"])) >= count:
            return time.perf_counter() - started
        if time.perf_counter() - started > timeout:
            raise SystemExit(f"only {stats['unique']} of {count} arrived in {timeout:.0f}s")
        await asyncio.sleep(0.02)


async def burst(client: nats.NATS, subject: str, count: int, offset: int) -> None:
    for number in range(offset, offset + count):
        await client.publish(subject, json.dumps({"n": number, "sent": time.time()}).encode())
    await client.flush()


async def paced(client: nats.NATS, subject: str, rate: float, seconds: float, offset: int) -> int:
    count = int(rate * seconds)
    started = time.perf_counter()
    tick = 0.002
    sent = 0
    while sent < count:
        due = min(count, int((time.perf_counter() - started) * rate) + 1)
        while sent < due:
            body = json.dumps({"n": offset + sent, "sent": time.time()}).encode()
            await client.publish(subject, body)
            sent += 1
        await client.flush()
        await asyncio.sleep(tick)
    return count


def percentile(values: list[float], fraction: float) -> float:
    return values[min(len(values) - 1, int(len(values) * fraction))] * 1000.0


async def measure(
    label: str, nats_url: str, subject: str, watcher: str, messages: int, seconds: float
) -> tuple[float, float, float]:
    """(throughput events/s, p50 ms, p99 ms) of whatever consumes ``subject`` right now."""
    client = await nats.connect(nats_url)
    async with aiohttp.ClientSession() as session:
        await reset(watcher, session)
        await burst(client, subject, 500, 10_000_000)  # warm up every connection on the way
        await wait_for(watcher, 500, session, 60)
        await reset(watcher, session)
        started = time.perf_counter()
        await burst(client, subject, messages, 0)
        await wait_for(watcher, messages, session, 300)
        throughput = messages / (time.perf_counter() - started)
        await reset(watcher, session)
        count = await paced(client, subject, throughput / 2, seconds, 20_000_000)
        await wait_for(watcher, count, session, 120)
        stats = await watcher_stats(watcher, session, latencies=True)
    await client.close()
    latencies = [float(x) for x in stats["latencies"]]  # type: ignore[attr-defined]
    p50, p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
    print(f"  {label:<38}: {throughput:8.0f} events/s   p50 {p50:6.2f} ms   p99 {p99:6.2f} ms")
    return throughput, p50, p99


async def start_nats(directory: str) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
    process = start([binary, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", directory])
    url = f"nats://127.0.0.1:{port}"
    for _ in range(100):
        try:
            client = await nats.connect(url)
        except Exception:
            await asyncio.sleep(0.1)
            continue
        await client.close()
        return url, process
    raise SystemExit(f"nats-server did not start on {url}")


def start_ours(
    directory: str, nats_url: str, subject: str, stream: str, watcher: str, direct: bool
) -> tuple[list[subprocess.Popen[bytes]], int]:
    """The dispatcher function and the NATS adapter, each in its own process (or, ``direct``,
    the adapter alone running the dispatch code in-process); the adapter's admin port."""
    path = registry(Path(directory) / f"registry-{direct}.yaml", nats_url, subject, stream, watcher)
    common = {"GATEWAYS_REGISTRY_FILE": str(path), "GATEWAYS_LOG_LEVEL": "WARNING"}
    dispatcher_port, adapter_admin = free_port(), free_port()
    if direct:
        adapter = start(
            [sys.executable, "-m", "adapters.streams.nats"],
            env={
                **common,
                "GATEWAYS_ADMIN_PORT": str(adapter_admin),
                "GATEWAYS_DISPATCH": "direct",
            },
        )
        return [adapter], adapter_admin
    serve = ["serve", "dispatcher", "--port", str(dispatcher_port)]
    dispatcher = start(
        [sys.executable, "-m", "gateways.cli", *serve],
        env={**common, "GATEWAYS_ADMIN_PORT": str(free_port())},
    )
    adapter = start(
        [sys.executable, "-m", "adapters.streams.nats"],
        env={
            **common,
            "GATEWAYS_ADMIN_PORT": str(adapter_admin),
            "GATEWAYS_DISPATCHER_URL": f"http://127.0.0.1:{dispatcher_port}/",
        },
    )
    return [dispatcher, adapter], adapter_admin


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--nats-url", help="a NATS server with JetStream (default: start one)")
    args = parser.parse_args()
    runs = (args.messages, args.seconds)
    with tempfile.TemporaryDirectory() as tmp:
        processes: list[subprocess.Popen[bytes]] = []
        try:
            nats_url = args.nats_url
            if nats_url is None:
                nats_url, server = await start_nats(tmp)
                processes.append(server)
            watcher_port = free_port()
            watcher = f"http://127.0.0.1:{watcher_port}/"
            processes.append(start([sys.executable, "-c", WATCHER_CODE, str(watcher_port)]))
            await wait_http(f"{watcher}_stats")
            stamp = int(time.time())
            stream, subject = f"BENCH{stamp}", f"bench{stamp}"
            client = await nats.connect(nats_url)
            await client.jetstream().add_stream(name=stream, subjects=[f"{subject}.>"])
            await client.close()
            print(
                f"NATS -> watcher: throughput over a burst of {args.messages} messages, "
                f"latency over {args.seconds:g}s at half that rate"
            )

            floors = {}
            for mode in ("sequential", "concurrent"):
                topic = f"{subject}.{mode}"
                floor = start([sys.executable, "-c", FLOOR_CODE, nats_url, topic, watcher, mode])
                await asyncio.sleep(1.0)
                try:
                    label = f"raw floor ({mode} POSTs)"
                    floors[mode] = await measure(label, nats_url, topic, watcher, *runs)
                finally:
                    stop(floor)

            results = {}
            for direct in (False, True):
                name = "direct" if direct else "http"
                topic = f"{subject}.ours{name}"
                started, admin = start_ours(tmp, nats_url, topic, stream, watcher, direct)
                try:
                    await wait_http(f"http://127.0.0.1:{admin}/readyz")
                    await asyncio.sleep(1.0)
                    label = f"ours, {name} dispatch (acked after delivery)"
                    results[name] = await measure(label, nats_url, topic, watcher, *runs)
                finally:
                    stop(*reversed(started))
        finally:
            stop(*reversed(processes))
    for name, ours in results.items():
        for mode, (throughput, _, _) in floors.items():
            label = f"ours ({name}) / the {mode} floor"
            print(f"  {label:<38}: {ours[0] / throughput:8.2f} x")
    print("  targets: ratio >= 0.8, p99 < 20 ms at half the max rate")


if __name__ == "__main__":
    asyncio.run(main())
