"""python -m bench.streams [--broker nats,kafka,amqp] [--messages N] [--seconds S] [--sweep]
[--json PATH] [--kafka-partitions P] [--paths alo,fire,deployed,embedded,peer]: see
bench/streams/__init__.py. Prints; asserts nothing."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import platform
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import aiohttp

from bench._common import free_port, start, stop, wait_http
from bench.streams.broker import Broker, Unavailable
from bench.streams.broker_amqp import AMQPBroker
from bench.streams.broker_kafka import KafkaBroker
from bench.streams.broker_nats import NATSBroker
from bench.streams.measure import SWEEP, NotConsuming, PathFailed, Phases, Result, measure
from bench.streams.paths import PATHS, PathUnavailable, label, running
from bench.streams.report import table
from bench.streams.watcher import Watcher

KINDS = ("nats", "kafka", "amqp")
LIBRARIES = ("nats-py", "kafka-python", "pika", "aiohttp", "grpcio", "uvloop", "orjson")


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.streams", description=__doc__)
    parser.add_argument(
        "--broker", default=",".join(KINDS), help="comma-separated: nats,kafka,amqp"
    )
    parser.add_argument("--messages", type=int, default=20_000, help="messages in the burst")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each paced phase")
    parser.add_argument("--sweep", action="store_true", help="offered loads 0.25-1.25 x (b)")
    parser.add_argument("--json", type=Path, help="write every raw figure to this file")
    parser.add_argument("--kafka-partitions", type=int, default=64)
    keys = ",".join(spec.key for spec in PATHS)
    parser.add_argument("--paths", default=keys, help=f"comma-separated, of {keys}")
    args = parser.parse_args()
    args.kinds = [kind.strip() for kind in args.broker.split(",") if kind.strip()]
    args.keys = [key.strip() for key in args.paths.split(",") if key.strip()]
    unknown = sorted(set(args.kinds) - set(KINDS))
    if unknown:
        parser.error(f"--broker: {', '.join(unknown)} is not one of {', '.join(KINDS)}")
    unknown = sorted(set(args.keys) - {spec.key for spec in PATHS})
    if unknown:
        parser.error(f"--paths: {', '.join(unknown)} is not one of {keys}")
    if args.messages < 1 or args.seconds <= 0:
        parser.error("--messages and --seconds must be positive")
    return args


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


async def open_broker(kind: str, directory: Path, args: argparse.Namespace) -> Broker:
    if kind == "nats":
        return await NATSBroker.open(directory)
    if kind == "kafka":
        return await KafkaBroker.open(args.kafka_partitions)
    return await AMQPBroker.open()


def _log_tail(path: Path, lines: int = 5) -> str:
    try:
        tail = path.read_text(errors="replace").strip().splitlines()[-lines:]
    except OSError:
        return ""
    return "; ".join(tail)


async def run_broker(
    broker: Broker, watcher: Watcher, directory: Path, args: argparse.Namespace
) -> list[Result]:
    results: list[Result] = []
    sweep_base: float | None = None
    for spec in PATHS:
        if spec.key not in args.keys or (spec.key == "peer" and broker.kind != "nats"):
            continue
        result = Result(spec.key, label(broker.kind, spec.key))
        results.append(result)
        progress(f"{broker.kind}: {result.label} ...")
        try:
            await _measure_path(broker, spec.key, result, watcher, directory, args, sweep_base)
        except (PathUnavailable, Unavailable) as exc:
            result.note = f"unavailable: {exc}"
        except (PathFailed, TimeoutError) as exc:
            result.note = f"failed: {exc or type(exc).__name__}"
            tail = _log_tail(directory / f"{broker.kind}-{spec.key}.log")
            progress(f"  {result.note}" + (f" (log: {tail})" if tail else ""))
        if spec.key == "alo":
            sweep_base = result.events_per_s
        progress(f"  {result.events_per_s or 0:,.0f} events/s")
    return results


async def _measure_path(
    broker: Broker,
    key: str,
    result: Result,
    watcher: Watcher,
    directory: Path,
    args: argparse.Namespace,
    sweep_base: float | None,
) -> None:
    """Starts the path and measures it; a start that never consumes is retried once with fresh
    processes (kafka-python 3.0.12 can spin for ever looking for the group coordinator)."""
    channel = await broker.channel(key)
    for attempt in (1, 2):
        async with running(key, channel, watcher.url, directory, getattr(broker, "url", "")) as ps:
            try:
                await measure(
                    Phases(channel, watcher, ps),
                    result,
                    args.messages,
                    args.seconds,
                    args.sweep,
                    sweep_base,
                )
                return
            except NotConsuming as exc:
                if attempt == 2:
                    raise
                result.note = f"started twice: the first start {exc}"
                progress(f"  {result.note}; starting it again")


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_average": os.getloadavg(),
        "libraries": {name: _version(name) for name in LIBRARIES},
    }


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


async def main() -> None:
    args = arguments()
    report: dict[str, Any] = {
        "run": {
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "machine": machine(),
            "messages": args.messages,
            "seconds": args.seconds,
            "sweep": list(SWEEP) if args.sweep else [],
            "kafka_partitions": args.kafka_partitions,
            "cpu": "the path's own processes and their children (user + system); "
            "broker, watcher and publisher excluded",
        },
        "brokers": {},
    }
    with tempfile.TemporaryDirectory(prefix="bench-streams-") as tmp:
        directory = Path(tmp)
        port = free_port()
        server = start([sys.executable, "-m", "bench.streams.watcher", str(port)])
        try:
            await wait_http(f"http://127.0.0.1:{port}/_stats")
            async with aiohttp.ClientSession() as session:
                watcher = Watcher(f"http://127.0.0.1:{port}/", session)
                for kind in args.kinds:
                    report["brokers"][kind] = await run_kind(kind, watcher, directory, args)
        finally:
            stop(server)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"raw figures: {args.json}")


async def run_kind(
    kind: str, watcher: Watcher, directory: Path, args: argparse.Namespace
) -> dict[str, Any]:
    try:
        broker = await open_broker(kind, directory, args)
    except Unavailable as exc:
        print(f"{kind}: unavailable: {exc}\n")
        return {"unavailable": str(exc)}
    try:
        results = await run_broker(broker, watcher, directory, args)
    finally:
        await broker.close()
    print(table(broker.title, results, args.messages, args.seconds) + "\n", flush=True)
    return {"title": broker.title, "paths": [dataclasses.asdict(result) for result in results]}


if __name__ == "__main__":
    asyncio.run(main())
