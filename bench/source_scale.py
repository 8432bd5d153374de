"""How the deployed NATS path's cost grows with the number of sources and with payload size.

Each point starts fresh processes: the NATS adapter (``python -m adapters.streams.nats``) with
N JetStream sources in one ConfigMap (source ``s<i>`` consumes subject ``<prefix>.s<i>`` through
durable consumer ``<prefix>-s<i>``, deliverPolicy new, all on one stream), and the dispatcher
function (``gateways serve dispatcher``), which the adapter calls over HTTP; the dispatcher
posts each CloudEvent (binary mode) to a counting watcher process that counts distinct
``ce-id``s. The broker is a fresh ``nats-server -js`` (file storage in a temporary directory)
unless --nats-url names one.

Per point, in order:
 1. start-up: seconds from starting the adapter until its /status lists N sources, all running;
 2. idle: after 2 s of settling, the adapter's and dispatcher's RSS (VmRSS) and the adapter's
    CPU share over --idle seconds with no messages;
 3. warm-up: one message per source, waited for (every connection on the way is open);
 4. burst: M messages, sent round robin over the N subjects as fast as the bench can publish
    (core NATS publish), timed from the first publish until the watcher holds all M distinct
    events; events/s = M / that time. CPU s per 1,000 events: utime + stime (/proc/<pid>/stat)
    over the burst of adapter + dispatcher ("ours"), and beside it of the broker (when the bench
    started it) and the watcher; "busy %" is all CPUs over the burst (/proc/stat, 100 per CPU):
    near 200 on 2 CPUs means the machine, not the path, set the pace. "broker msgs/ev" is the
    broker's in_msgs + out_msgs (/varz) per event: publish, delivery and ack make 3, the rest
    are pull requests and their 404/408 status answers. "dups": watcher requests over distinct
    ``ce-id``s (events delivered again). Afterwards the stream is checked to have taken all M,
    and the broker's slow-consumer count not to have grown. Peak RSS is each process's VmHWM
    (high-water mark since it started, start-up included).

Sources sweep (--sources, one payload of --size bytes, M = --messages spread over all sources):
the slope of idle adapter RSS against N (least squares) is the RSS per idle source, and the
adapter's idle RSS at 1,000 sources (measured, or extrapolated from the slope) is set beside
the 256 MiB target. Payload sweep (--payloads, one source): M = min(--messages, --payload-budget
/ size), at least 20; MB/s counts payload bytes. The limits that apply to each size are printed:
NATS max_payload (the server's INFO), GATEWAYS_MAX_REQUEST_BYTES (one dispatcher request; an
event over it is delivered by the adapter itself), the event-source server's gRPC message limit.

With --profile DIR the adapter and dispatcher run under a pyinstrument wrapper that samples the
main thread's CPU time only while told to (SIGUSR1 starts, SIGUSR2 stops and writes): each point
writes, per process, ``<process>-n<sources>-b<bytes>-idle.txt`` (the idle window) and
``-burst.txt`` (the burst), each a call tree then the functions by own CPU time. The sampling
slows the profiled processes about threefold, so a profiled run's figures are not comparable.
Prints a table; --json PATH writes the raw figures. Asserts nothing.
Run: python -m bench.source_scale [--sources 1,10,100,1000] [--payloads 100,10240,1048576]
     [--messages N] [--json PATH] [--nats-url URL] [--profile DIR] [--logs DIR]
With --logs DIR the adapter's and dispatcher's logs (at INFO) go to DIR.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import nats

from bench._common import ROOT, configmap, free_port, start, stop, wait_http
from gateways.adapter.server import MAX_MESSAGE_BYTES
from gateways.settings import Settings

MIB = 1024 * 1024
TARGET_RSS_MIB = 256
SETTLE_SECONDS = 2.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# Runs a module as ``python -m`` would, sampling its main thread's CPU time (not wall time: the
# loop waiting in select() costs nothing) with pyinstrument between SIGUSR1 and SIGUSR2; each
# SIGUSR2 writes ``<prefix>-<next phase>.txt``: the call tree, then functions by own CPU time.
# argv: prefix, phases (comma-separated), module, its arguments.
PROFILED_CODE = """
import os, runpy, signal, sys, time
from pyinstrument import Profiler
from pyinstrument.frame import SELF_TIME_FRAME_IDENTIFIER
from pyinstrument.stack_sampler import get_stack_sampler
prefix, phases, module = sys.argv[1], sys.argv[2].split(","), sys.argv[3]
sys.argv = [module, *sys.argv[4:]]
get_stack_sampler().timer_func = time.thread_time
profiler = None
def begin(*_):
    global profiler
    profiler = Profiler(interval=0.001, async_mode="disabled")
    profiler.start()
def own_times(frame, parent, into):
    key = parent if frame.identifier == SELF_TIME_FRAME_IDENTIFIER else (
        f"{frame.function}  {frame.file_path_short}:{frame.line_no}")
    into[key] = into.get(key, 0.0) + frame.time - sum(c.time for c in frame.children)
    for child in frame.children:
        own_times(child, key, into)
def end(*_):
    path = f"{prefix}-{phases.pop(0)}.txt"
    profiler.stop()
    root = profiler.last_session.root_frame()
    if root is None:  # uvloop idles in C: no Python ran, so there is no sample
        text = "no samples: the main thread ran no Python code\\n"
    else:
        times = {}
        own_times(root, "", times)
        total = sum(times.values()) or 1.0
        ranked = sorted(times.items(), key=lambda item: -item[1])[:40]
        flat = "\\n".join(f"{t:8.3f} s {t / total:6.1%}  {name}" for name, t in ranked)
        text = profiler.output_text() + "\\nby own CPU time:\\n" + flat + "\\n"
    with open(path + ".part", "w") as out:
        out.write(text)
    os.replace(path + ".part", path)
signal.signal(signal.SIGUSR1, begin)
signal.signal(signal.SIGUSR2, end)
runpy.run_module(module, run_name="__main__", alter_sys=True)
"""
PHASES = ("idle", "burst")

WATCHER_CODE = """
import sys
from aiohttp import web
seen, counts = set(), {"requests": 0, "bytes": 0}
async def receive(request):
    body = await request.read()
    counts["requests"] += 1
    counts["bytes"] += len(body)
    seen.add(request.headers.get("ce-id") or counts["requests"])
    return web.Response(status=200)
async def stats(request):
    return web.json_response({"unique": len(seen), **counts})
async def reset(request):
    seen.clear(); counts["requests"] = counts["bytes"] = 0
    return web.Response(status=204)
app = web.Application(client_max_size=1 << 30)
app.router.add_get("/_stats", stats)
app.router.add_post("/_reset", reset)
app.router.add_route("*", "/{tail:.*}", receive)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""


@dataclass
class Point:
    """The figures of one adapter + dispatcher pair (MiB, seconds, events)."""

    sources: int
    payload: int
    messages: int
    startup_s: float = 0.0
    idle_rss_adapter: float = 0.0
    idle_rss_dispatcher: float = 0.0
    idle_cpu_percent: float = 0.0  # adapter, share of one core
    seconds: float = 0.0
    events_per_s: float = 0.0
    mb_per_s: float = 0.0
    cpu_adapter_s: float = 0.0
    cpu_dispatcher_s: float = 0.0
    cpu_per_1000: float = 0.0
    cpu_broker_s: float | None = None  # the nats-server, when the bench started it
    cpu_watcher_s: float = 0.0
    machine_busy_percent: float = 0.0  # all CPUs over the burst; 100 per CPU
    # Messages into and out of the broker over the burst, per event: publish, delivery and ack
    # are 3; the rest are pull requests and their status answers (404, 408).
    broker_msgs_per_event: float | None = None
    peak_rss_adapter: float = 0.0
    peak_rss_dispatcher: float = 0.0
    delivered: int = 0
    # Watcher requests over distinct ce-ids: events delivered again (a broker redelivery after
    # a nak or ackWait, or a retried POST).
    duplicates: int = 0
    notes: list[str] = field(default_factory=list)


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process; the fields after the ')' that ends its name."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_busy() -> tuple[int, int]:
    """(busy, total) clock ticks of all CPUs since boot, from /proc/stat."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return sum(ticks) - idle, sum(ticks)


def memory_mib(pid: int, key: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def payload_of(size: int, number: int) -> bytes:
    """A JSON object of exactly ``size`` bytes (when size allows), ASCII, so it travels as text."""
    head = f'{{"n":{number},"pad":"'.encode()
    if size < len(head) + 2:
        return head[:size]
    return head + b"x" * (size - len(head) - 2) + b'"}'


def registry(path: Path, nats_url: str, prefix: str, stream: str, count: int, watcher: str) -> None:
    sources = {
        f"s{i}": {
            "url": nats_url,
            "subject": f"{prefix}.s{i}",
            "jetStream": {
                "stream": stream,
                "durable": f"{prefix.replace('.', '-')}-s{i}",
                "deliverPolicy": "new",
            },
        }
        for i in range(count)
    }
    path.write_text(configmap("scale", "nats", sources, [watcher]))


async def quiet(exc: Exception) -> None:
    """nats-py logs a failed connect with its traceback unless given an error callback."""


async def start_nats(directory: str, monitor: int) -> tuple[str, subprocess.Popen[bytes]]:
    """A nats-server with JetStream; ``monitor`` is its HTTP monitoring port (/varz)."""
    port = free_port()
    binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
    process = start(
        [binary, "-a", "127.0.0.1", "-p", str(port), "-m", str(monitor), "-js", "-sd", directory]
    )
    url = f"nats://127.0.0.1:{port}"
    for _ in range(100):
        try:
            client = await nats.connect(url, error_cb=quiet, allow_reconnect=False)
        except Exception:
            await asyncio.sleep(0.1)
            continue
        await client.close()
        return url, process
    raise SystemExit(f"nats-server did not start on {url}")


class Harness:
    """The broker, the watcher and the stream shared by every point of one run."""

    def __init__(
        self,
        tmp: str,
        nats_url: str,
        watcher: str,
        stream: str,
        idle: float,
        profile: Path | None,
        others: dict[str, int],
        varz: str | None,
        logs: Path | None,
    ) -> None:
        self.logs = logs
        self.others = others  # "watcher" and, when the bench started it, "broker": pids
        self.varz = varz  # the broker's monitoring endpoint, when the bench started it
        self.tmp = tmp
        self.idle = idle
        self.nats_url = nats_url
        self.watcher = watcher
        self.stream = stream
        self.profile = profile
        self.points = 0

    def _python(self, name: str, module: str, *arguments: str) -> list[str]:
        if self.profile is None:
            return [sys.executable, "-m", module, *arguments]
        prefix = str(self.profile / name)
        return [sys.executable, "-c", PROFILED_CODE, prefix, ",".join(PHASES), module, *arguments]

    async def _sample(self, processes: dict[str, int], phase: str | None) -> None:
        """With --profile: start sampling ``processes`` (name -> pid), or, given the phase
        that ends, stop and wait for each one's profile of it."""
        if self.profile is None:
            return
        for pid in processes.values():
            os.kill(pid, signal.SIGUSR1 if phase is None else signal.SIGUSR2)
        if phase is None:
            return
        paths = [self.profile / f"{name}-{phase}.txt" for name in processes]
        deadline = time.monotonic() + 120
        while not all(path.exists() for path in paths) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)

    def _start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        """A process of ours; with --logs its stderr (at INFO) goes to ``<logs>/<name>.log``."""
        if self.logs is None:
            return start(args, env)
        with (self.logs / f"{name}.log").open("wb") as log:
            return subprocess.Popen(args, env={**os.environ, **env}, stderr=log, cwd=ROOT)

    async def run(self, sources: int, size: int, messages: int) -> Point:
        self.points += 1
        prefix = f"{self.stream.lower()}.p{self.points}"
        path = Path(self.tmp) / f"registry-{self.points}.yaml"
        registry(path, self.nats_url, prefix, self.stream, sources, self.watcher)
        level = "INFO" if self.logs else "WARNING"
        common = {"GATEWAYS_REGISTRY_FILE": str(path), "GATEWAYS_LOG_LEVEL": level}
        port, dispatcher_admin, adapter_admin = free_port(), free_port(), free_port()
        label = f"n{sources}-b{size}"
        serve = ("serve", "dispatcher", "--port", str(port))
        dispatcher = self._start(
            f"dispatcher-{label}",
            self._python(f"dispatcher-{label}", "gateways.cli", *serve),
            {**common, "GATEWAYS_ADMIN_PORT": str(dispatcher_admin)},
        )
        point = Point(sources, size, messages)
        adapter: subprocess.Popen[bytes] | None = None
        try:
            await wait_http(f"http://127.0.0.1:{port}/", method="POST")
            started = time.perf_counter()
            adapter = self._start(
                f"adapter-{label}",
                self._python(f"adapter-{label}", "adapters.streams.nats"),
                {
                    **common,
                    "GATEWAYS_ADMIN_PORT": str(adapter_admin),
                    "GATEWAYS_DISPATCHER_URL": f"http://127.0.0.1:{port}/",
                    "GATEWAYS_STATE_DIR": self.tmp,
                },
            )
            await running(f"http://127.0.0.1:{adapter_admin}", sources, 60 + sources * 0.2)
            point.startup_s = time.perf_counter() - started
            pids = {f"adapter-{label}": adapter.pid, f"dispatcher-{label}": dispatcher.pid}
            await self._measure(point, prefix, pids)
        finally:
            stop(*([adapter] if adapter else []), dispatcher)
        return point

    async def _measure(self, point: Point, prefix: str, pids: dict[str, int]) -> None:
        await self._idle(point, pids)
        await self._burst(point, prefix, pids)
        adapter, dispatcher = pids.values()
        point.peak_rss_adapter = memory_mib(adapter, "VmHWM")
        point.peak_rss_dispatcher = memory_mib(dispatcher, "VmHWM")
        if point.delivered < point.messages:
            point.notes.append(f"only {point.delivered} of {point.messages} arrived")
        if point.delivered:
            point.events_per_s = point.delivered / point.seconds
            point.mb_per_s = point.delivered * point.payload / point.seconds / 1e6
            spent = point.cpu_adapter_s + point.cpu_dispatcher_s
            point.cpu_per_1000 = spent / point.delivered * 1000

    async def _idle(self, point: Point, pids: dict[str, int]) -> None:
        adapter, dispatcher = pids.values()
        await asyncio.sleep(SETTLE_SECONDS)
        point.idle_rss_adapter = memory_mib(adapter)
        point.idle_rss_dispatcher = memory_mib(dispatcher)
        await self._sample(pids, None)
        before = cpu_seconds(adapter)
        await asyncio.sleep(self.idle)
        point.idle_cpu_percent = (cpu_seconds(adapter) - before) / self.idle * 100
        await self._sample(pids, "idle")

    async def _burst(self, point: Point, prefix: str, pids: dict[str, int]) -> None:
        adapter, dispatcher = pids.values()
        subjects = [f"{prefix}.s{i}" for i in range(point.sources)]
        client = await nats.connect(self.nats_url, max_reconnect_attempts=0)
        limit = client.max_payload
        if point.payload > limit:
            point.notes.append(f"payload over NATS max_payload ({limit:,} bytes): not sent")
            await client.close()
            return
        js = client.jetstream(timeout=60)
        async with aiohttp.ClientSession() as session:
            await reset(self.watcher, session)
            await publish(client, subjects, len(subjects), point.payload, 10_000_000)
            await wait_for(self.watcher, len(subjects), session, 60 + point.sources * 0.1)
            await reset(self.watcher, session)
            first = (await js.stream_info(self.stream)).state.last_seq
            await self._sample(pids, None)
            cpu = cpu_seconds(adapter), cpu_seconds(dispatcher)
            other = {name: cpu_seconds(pid) for name, pid in self.others.items()}
            broker = await broker_counts(self.varz, session)
            busy = machine_busy()
            started = time.perf_counter()
            await publish(client, subjects, point.messages, point.payload, 0)
            timeout = 120 + point.messages * point.payload / MIB
            point.delivered, requests = await wait_for(
                self.watcher, point.messages, session, timeout
            )
            point.duplicates = requests - point.delivered
            point.seconds = time.perf_counter() - started
            point.cpu_adapter_s = cpu_seconds(adapter) - cpu[0]
            point.cpu_dispatcher_s = cpu_seconds(dispatcher) - cpu[1]
            now = machine_busy()
            point.machine_busy_percent = (
                (now[0] - busy[0]) / max(1, now[1] - busy[1]) * 100 * (os.cpu_count() or 1)
            )
            point.cpu_watcher_s = cpu_seconds(self.others["watcher"]) - other["watcher"]
            if "broker" in self.others:
                point.cpu_broker_s = cpu_seconds(self.others["broker"]) - other["broker"]
            await self._sample(pids, "burst")
            if broker is not None:
                after = await broker_counts(self.varz, session)
                assert after is not None
                point.broker_msgs_per_event = (after[0] - broker[0]) / max(point.delivered, 1)
                if after[1] > broker[1]:
                    slow = after[1] - broker[1]
                    point.notes.append(f"the broker cut {slow} slow consumer(s)")
            # Read after the burst so the JetStream API call does not compete with it.
            stored = (await js.stream_info(self.stream)).state.last_seq - first
            if stored < point.messages:
                point.notes.append(f"the stream took {stored} of {point.messages} messages")
        await client.close()


async def running(admin: str, count: int, timeout: float) -> None:
    """Wait until the adapter's /status lists ``count`` sources, every one running."""
    deadline = time.monotonic() + timeout
    states: dict[str, int] = {}
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(f"{admin}/status") as reply:
                    document = await reply.json()
                states = {}
                for source in document["sources"]:
                    states[source["state"]] = states.get(source["state"], 0) + 1
                if states.get("running", 0) == count:
                    return
            except (aiohttp.ClientError, ValueError, KeyError):
                pass
            await asyncio.sleep(0.2)
    raise SystemExit(f"{admin}: {count} sources not all running in {timeout:.0f}s: {states}")


async def publish(
    client: nats.NATS, subjects: list[str], count: int, size: int, offset: int
) -> None:
    for number in range(offset, offset + count):
        await client.publish(subjects[number % len(subjects)], payload_of(size, number))
    await client.flush(timeout=60)


async def broker_counts(varz: str | None, session: aiohttp.ClientSession) -> tuple[int, int] | None:
    """(in_msgs + out_msgs, slow_consumers) of the broker so far (its /varz), when the bench
    started it."""
    if varz is None:
        return None
    async with session.get(varz) as reply:
        document = await reply.json()
    return int(document["in_msgs"]) + int(document["out_msgs"]), int(document["slow_consumers"])


async def reset(watcher: str, session: aiohttp.ClientSession) -> None:
    async with session.post(f"{watcher}_reset") as reply:
        await reply.read()


async def wait_for(
    watcher: str, count: int, session: aiohttp.ClientSession, timeout: float
) -> tuple[int, int]:
    """(distinct events, requests) at the watcher once it holds ``count`` distinct events, or
    when ``timeout`` ran out."""
    deadline = time.perf_counter() + timeout
    while True:
        async with session.get(f"{watcher}_stats") as reply:
            stats = await reply.json()
        unique, requests = int(stats["unique"]), int(stats["requests"])
        if unique >= count or time.perf_counter() > deadline:
            return unique, requests
        await asyncio.sleep(0.01)


def slope(points: list[Point]) -> tuple[float, float] | None:
    """Least-squares (MiB per source, MiB at zero sources) of idle adapter RSS, or None."""
    if len({p.sources for p in points}) < 2:
        return None
    xs = [float(p.sources) for p in points]
    ys = [p.idle_rss_adapter for p in points]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    per = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mean_x) ** 2 for x in xs
    )
    return per, mean_y - per * mean_x


def wire_size(size: int) -> int:
    """Bytes of one event in a dispatcher request (payload as text, plus attributes)."""
    from gateways.source import RawEvent

    raw = RawEvent(
        payload=payload_of(size, 1),
        id="STREAM:1000000",
        subject="scale.p1.s0",
        action="message",
        extensions={
            "natsstream": "STREAM",
            "natssequence": "1000000",
            "natsconsumer": "scale-p1-s0",
            "natsdelivered": "1",
        },
        binding="nats",
    )
    return len(json.dumps(raw.to_wire()).encode())


def limits(max_payload: int, sizes: list[int]) -> list[str]:
    settings = Settings.from_env()
    request, pool = settings.max_request_bytes, settings.max_in_flight
    lines = [
        "limits that apply:",
        f"  NATS max_payload {max_payload:,} B (the server's INFO; headers count; a larger"
        " publish is refused by the client)",
        f"  GATEWAYS_MAX_REQUEST_BYTES {request:,} B: one dispatcher request, at most 64 events"
        " (GATEWAYS_BATCH_SIZE); a larger event is delivered by the adapter itself",
        f"  gRPC message {MAX_MESSAGE_BYTES:,} B (event-source server -> gateway client); the"
        " server sends the events queued for a source together in one message",
        f"  GATEWAYS_MAX_IN_FLIGHT {pool} events per source, whatever their size",
    ]
    for size in sizes:
        if size > max_payload:
            lines.append(f"  {size:>9,} B payload: over NATS max_payload, not sent")
            continue
        wire = wire_size(size)
        per_request = max(0, min(64, (request - 256) // (wire + 1)))
        full = pool * (size + 200)
        grpc = "over" if full > MAX_MESSAGE_BYTES else "within"
        lines.append(
            f"  {size:>9,} B payload: {wire:>9,} B as JSON to the dispatcher, {per_request} per"
            f" request; a full in-flight pool is {full / MIB:,.1f} MiB, {grpc} one gRPC message"
        )
    return lines


def per_1000(seconds: float | None, point: Point) -> str:
    return (
        "-" if seconds is None or not point.delivered else f"{seconds / point.delivered * 1e3:.3f}"
    )


Column = tuple[str, Callable[[Point], str]]
COST: list[Column] = [
    ("events/s", lambda p: f"{p.events_per_s:.0f}"),
    ("CPU s/1k ev", lambda p: f"{p.cpu_per_1000:.3f}"),
    ("adapter", lambda p: per_1000(p.cpu_adapter_s, p)),
    ("dispatcher", lambda p: per_1000(p.cpu_dispatcher_s, p)),
    ("broker", lambda p: per_1000(p.cpu_broker_s, p)),
    ("watcher", lambda p: per_1000(p.cpu_watcher_s, p)),
    (
        "broker msgs/ev",
        lambda p: "-" if p.broker_msgs_per_event is None else f"{p.broker_msgs_per_event:.1f}",
    ),
    ("busy %", lambda p: f"{p.machine_busy_percent:.0f}"),
    ("dups", lambda p: str(p.duplicates)),
    ("peak RSS a/d MiB", lambda p: f"{p.peak_rss_adapter:.0f}/{p.peak_rss_dispatcher:.0f}"),
]


def table(points: list[Point], columns: list[Column]) -> None:
    cells = [[cell(p) for _, cell in columns] for p in points]
    widths = [
        max(len(name), *(len(row[i]) for row in cells)) for i, (name, _) in enumerate(columns)
    ]
    print("  ".join(name.rjust(width) for (name, _), width in zip(columns, widths, strict=True)))
    for p, row in zip(points, cells, strict=True):
        line = "  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True))
        print(line + (f"   {'; '.join(p.notes)}" if p.notes else ""))


def print_sources(points: list[Point], messages: int, size: int) -> None:
    print(
        f"\nsources in one adapter: {messages} messages of {size} B spread over all sources;"
        " CPU s per 1,000 events: ours = adapter + dispatcher (broker, watcher beside it)"
    )
    columns: list[Column] = [
        ("sources", lambda p: str(p.sources)),
        ("start s", lambda p: f"{p.startup_s:.1f}"),
        ("idle RSS a/d MiB", lambda p: f"{p.idle_rss_adapter:.1f}/{p.idle_rss_dispatcher:.0f}"),
        ("idle CPU %", lambda p: f"{p.idle_cpu_percent:.1f}"),
        *COST,
    ]
    table(points, columns)
    fit = slope(points)
    if fit is not None:
        per, base = fit
        at_1000 = next((p.idle_rss_adapter for p in points if p.sources == 1000), None)
        how = "measured" if at_1000 is not None else "extrapolated"
        value = at_1000 if at_1000 is not None else base + 1000 * per
        verdict = "fits" if value <= TARGET_RSS_MIB else "does NOT fit"
        print(
            f"  RSS per idle source: {per * 1024:.0f} KiB"
            f" (least squares, intercept {base:.1f} MiB);"
            f" 1,000 sources {how}: {value:.0f} MiB idle, {verdict} in {TARGET_RSS_MIB} MiB"
        )
    done = [p for p in points if p.delivered]
    if len(done) > 1:
        low, high = done[0], done[-1]
        print(
            f"  {high.sources} sources / {low.sources}: CPU per event"
            f" {high.cpu_per_1000 / low.cpu_per_1000:.2f} x, events/s"
            f" {high.events_per_s / low.events_per_s:.2f} x, peak adapter RSS"
            f" {high.peak_rss_adapter:.0f} MiB   (targets: flat, about 1; 256 MiB)"
        )


def print_payloads(points: list[Point], max_payload: int) -> None:
    print("\npayload size, one source")
    columns: list[Column] = [
        ("payload B", lambda p: f"{p.payload:,}"),
        ("messages", lambda p: str(p.messages)),
        ("MB/s", lambda p: f"{p.mb_per_s:.1f}"),
        *COST,
    ]
    table(points, columns)
    for line in limits(max_payload, [p.payload for p in points]):
        print(f"  {line}")


def numbers(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()] if text else []


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--sources", default="1,10,100,1000", help="source counts ('' to skip)")
    parser.add_argument("--payloads", default="100,10240,1048576", help="bytes ('' to skip)")
    parser.add_argument("--messages", type=int, default=10_000, help="messages per point")
    parser.add_argument("--size", type=int, default=100, help="payload bytes, sources sweep")
    parser.add_argument(
        "--payload-budget", type=int, default=128, help="MiB per payload point (caps messages)"
    )
    parser.add_argument("--idle", type=float, default=3.0, help="idle CPU window, s")
    parser.add_argument("--nats-url", help="a NATS server with JetStream (default: start one)")
    parser.add_argument("--json", type=Path, help="write the raw figures here")
    parser.add_argument("--profile", type=Path, help="run both under pyinstrument; texts here")
    parser.add_argument("--logs", type=Path, help="adapter and dispatcher logs (INFO) here")
    args = parser.parse_args()
    for directory in (args.profile, args.logs):
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
    sweep, payloads = numbers(args.sources), numbers(args.payloads)
    processes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            nats_url, varz = args.nats_url, None
            others: dict[str, int] = {}
            if nats_url is None:
                monitor = free_port()
                nats_url, server = await start_nats(tmp, monitor)
                processes.append(server)
                others["broker"] = server.pid
                varz = f"http://127.0.0.1:{monitor}/varz"
            watcher_port = free_port()
            watcher = f"http://127.0.0.1:{watcher_port}/"
            processes.append(start([sys.executable, "-c", WATCHER_CODE, str(watcher_port)]))
            others["watcher"] = processes[-1].pid
            await wait_http(f"{watcher}_stats")
            stream = f"SCALE{int(time.time())}"
            client = await nats.connect(nats_url)
            max_payload = client.max_payload
            js = client.jetstream(timeout=60)
            await js.add_stream(name=stream, subjects=[f"{stream.lower()}.>"])
            harness = Harness(
                tmp, nats_url, watcher, stream, args.idle, args.profile, others, varz, args.logs
            )
            try:
                by_sources = []
                for count in sweep:
                    by_sources.append(await harness.run(count, args.size, args.messages))
                    print(f"  .. {count} sources: {asdict(by_sources[-1])}", file=sys.stderr)
                by_payload = []
                for size in payloads:
                    budget = args.payload_budget * MIB // max(size, 1)
                    messages = max(20, min(args.messages, budget))
                    by_payload.append(await harness.run(1, size, messages))
                    print(f"  .. {size} B: {asdict(by_payload[-1])}", file=sys.stderr)
            finally:
                await js.delete_stream(stream)
                await client.close()
        finally:
            stop(*reversed(processes))
    cpus = os.cpu_count()
    print(f"\nmachine: {cpus} CPUs; python {sys.version.split()[0]}; broker {nats_url}")
    if by_sources:
        print_sources(by_sources, args.messages, args.size)
    if by_payload:
        print_payloads(by_payload, max_payload)
    if args.json is not None:
        document: dict[str, Any] = {
            "machine": {"cpus": cpus, "python": sys.version.split()[0]},
            "max_payload": max_payload,
            "max_request_bytes": Settings.from_env().max_request_bytes,
            "sources": [asdict(p) for p in by_sources],
            "payloads": [asdict(p) for p in by_payload],
            "rss_per_source_mib": (slope(by_sources) or (None,))[0],
        }
        args.json.write_text(json.dumps(document, indent=2) + "\n")
        print(f"\nraw figures: {args.json}")


if __name__ == "__main__":
    asyncio.run(main())
