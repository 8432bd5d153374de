"""The paths measured per broker, and how each is started: its own processes, nothing shared but
the broker and the watcher.

(a) ``fire`` and (b) ``alo``: the floor consumers of :mod:`bench.streams.floor_nats`,
``floor_kafka`` and ``floor_amqp``, one process each.
(c) ``deployed``: ``python -m adapters.streams.<kind>`` with GATEWAYS_DISPATCHER_URL pointing at
``python -m gateways.cli serve dispatcher`` (two processes), the registry file naming the source
and the watcher (gateways.dev/watchers).
(d) ``embedded``: ``python -m gateways.cli up --file <registry>`` (one process).
(e) ``peer`` (NATS only): the OpenFaaS nats-connector and whatever it needs to reach the watcher,
from :mod:`bench.peers.openfaas`.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._common import configmap, free_port, start, stop, wait_http
from bench.streams.broker import Channel

Processes = list[subprocess.Popen[bytes]]


@dataclass(frozen=True, slots=True)
class PathSpec:
    key: str
    label: str


PATHS = (
    PathSpec("alo", "(b) at-least-once floor"),
    PathSpec("fire", "(a) fire-and-forget floor"),
    PathSpec("deployed", "(c) ours, deployed"),
    PathSpec("embedded", "(d) ours, embedded"),
    PathSpec("peer", "(e) OpenFaaS nats-connector"),
)
DETAILS = {
    ("nats", "fire"): "core subscribe, no acks",
    ("nats", "alo"): "JetStream pull, ack after 2xx",
    ("kafka", "fire"): "group, auto-commit",
    ("kafka", "alo"): "group, commit after delivery",
    ("amqp", "fire"): "auto-ack",
    ("amqp", "alo"): "manual ack after 2xx",
    ("*", "deployed"): "adapter -> dispatcher fn",
    ("*", "embedded"): "gateways up",
    ("nats", "peer"): "-> gateway stand-in",
}


class PathUnavailable(Exception):
    """The path cannot run here; the text says why."""


def label(kind: str, key: str) -> str:
    name = next(path.label for path in PATHS if path.key == key)
    detail = DETAILS.get((kind, key)) or DETAILS.get(("*", key))
    return f"{name} ({detail})" if detail else name


def registry(path: Path, kind: str, source: dict[str, Any], watcher: str) -> Path:
    path.write_text(configmap("bench", kind, {"events": source}, [watcher]))
    return path


@contextlib.asynccontextmanager
async def running(
    key: str, channel: Channel, watcher: str, directory: Path, nats_url: str = ""
) -> AsyncIterator[Processes]:
    """Starts the path on ``channel``; yields its processes; stops them on the way out."""
    if key == "peer":
        with _peer(nats_url, getattr(channel, "subject", ""), watcher) as peer:
            yield peer
        return
    log = directory / f"{channel.kind}-{key}.log"
    processes: Processes = []
    try:
        if key in ("fire", "alo"):
            processes.append(start(channel.floor(key, watcher), log=log))
        else:
            admin = free_port()
            processes += _ours(key, channel, watcher, directory, admin, log)
            await wait_http(f"http://127.0.0.1:{admin}/readyz", timeout=60)
        yield processes
    finally:
        stop(*reversed(processes))


def _ours(
    key: str, channel: Channel, watcher: str, directory: Path, admin: int, log: Path
) -> Processes:
    """``gateways up`` (embedded), or the dispatcher function and the adapter (deployed)."""
    name = f"{channel.kind}-{key}"
    file = registry(directory / f"{name}.yaml", channel.kind, channel.source(), watcher)
    common = {"GATEWAYS_LOG_LEVEL": "WARNING", "GATEWAYS_STATE_DIR": str(directory / name)}
    if key == "embedded":
        command = ["up", "--file", str(file), "--admin-port", str(admin)]
        return [start([sys.executable, "-m", "gateways.cli", *command], env=common, log=log)]
    port = free_port()
    settings = {**common, "GATEWAYS_REGISTRY_FILE": str(file)}
    serve = ["serve", "dispatcher", "--port", str(port)]
    dispatcher = start(
        [sys.executable, "-m", "gateways.cli", *serve],
        env={**settings, "GATEWAYS_ADMIN_PORT": str(free_port())},
        log=log,
    )
    adapter = start(
        [sys.executable, "-m", f"adapters.streams.{channel.kind}"],
        env={
            **settings,
            "GATEWAYS_ADMIN_PORT": str(admin),
            "GATEWAYS_DISPATCHER_URL": f"http://127.0.0.1:{port}/",
        },
        log=log,
    )
    return [dispatcher, adapter]


@contextlib.contextmanager
def _peer(nats_url: str, subject: str, watcher: str) -> Iterator[Processes]:
    try:
        from bench.peers import openfaas
    except ImportError as exc:
        raise PathUnavailable(f"bench.peers.openfaas cannot be imported ({exc})") from None
    try:
        with openfaas.nats_connector(nats_url, subject, watcher) as processes:
            yield processes
    except openfaas.Unavailable as exc:
        raise PathUnavailable(str(exc)) from None
