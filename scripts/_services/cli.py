"""The `scripts/services` commands: up, down, status, env."""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

from .amqp import Amqp
from .base import Service
from .chromium import Chromium
from .common import ServiceError, file_lock, print_err, say, state_root
from .hdfs import Hdfs
from .kafka import Kafka
from .kubernetes import Kubernetes
from .minio import Minio
from .mqtt import Mqtt
from .nats import Nats
from .pubsub import Pubsub
from .sns import Sns
from .sqs import Sqs

SERVICES: dict[str, type[Service]] = {
    "nats": Nats,
    "mqtt": Mqtt,
    "amqp": Amqp,
    "kafka": Kafka,
    "minio": Minio,
    "kubernetes": Kubernetes,
    "sns": Sns,
    "hdfs": Hdfs,
    "pubsub": Pubsub,
    "sqs": Sqs,
    "chromium": Chromium,
}


def all_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for cls in SERVICES.values():
        env.update(cls().env())
    return env


def write_env_json() -> None:
    root = state_root()
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / "env.json.tmp"
    tmp.write_text(json.dumps(all_env(), indent=2, sort_keys=True) + "\n")
    tmp.rename(root / "env.json")


def bring_up(svc: Service) -> bool:
    t0 = time.monotonic()
    if svc.is_healthy():
        say(f"{svc.name}: healthy (already running)")
        return True
    say(f"{svc.name}: starting")
    try:
        svc.install()
        svc.prepare()
        svc.start()
    except (ServiceError, OSError, subprocess.SubprocessError) as exc:
        print_err(f"{svc.name}: FAILED: {exc}")
        for proc in svc.procs():
            if proc.log.exists():
                print_err(f"--- last lines of {proc.log} ---\n{proc.log_since_start()}")
        return False
    say(f"{svc.name}: healthy after {time.monotonic() - t0:.1f}s")
    return True


def install_one(svc: Service) -> bool:
    t0 = time.monotonic()
    try:
        svc.install()
    except (ServiceError, OSError, subprocess.SubprocessError) as exc:
        print_err(f"{svc.name}: install FAILED: {exc}")
        return False
    say(f"{svc.name}: installed ({time.monotonic() - t0:.1f}s)")
    return True


def cmd_install(names: list[str]) -> int:
    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        ok = all(pool.map(install_one, [SERVICES[n]() for n in names]))
    say(f"install: {'done' if ok else 'FAILED'} ({time.monotonic() - t0:.1f}s)")
    return 0 if ok else 1


def cmd_up(names: list[str]) -> int:
    t0 = time.monotonic()
    root = state_root()
    with file_lock(root / ".lock"):
        write_env_json()
        services = [SERVICES[n]() for n in names]
        with ThreadPoolExecutor(max_workers=len(services)) as pool:
            results = list(pool.map(bring_up, services))
        write_env_json()
    failed = [s.name for s, ok in zip(services, results, strict=True) if not ok]
    took = time.monotonic() - t0
    if failed:
        print_err(f"up: {', '.join(failed)} failed to start ({took:.1f}s)")
        return 1
    say(f"up: {', '.join(names)} healthy ({took:.1f}s); settings: {root / 'env.json'}")
    return 0


def cmd_down(names: list[str]) -> int:
    with file_lock(state_root() / ".lock"):
        for name in reversed([n for n in SERVICES if n in names]):
            stopped = SERVICES[name]().stop()
            say(f"{name}: {'stopped' if stopped else 'not running'}")
    return 0


def cmd_status() -> int:
    down = 0
    for name, cls in SERVICES.items():
        svc = cls()
        if svc.is_healthy():
            state = "healthy"
        elif svc.running():
            state = "down (running but not answering)"
        else:
            state = "down"
        down += state != "healthy"
        say(f"{name:<11} {state:<10} {svc.versions()}")
    return 1 if down else 0


def cmd_env() -> int:
    for key, value in sorted(all_env().items()):
        print(f"export {key}={shlex.quote(value)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/services",
        description="Start, stop and describe the real servers the integration tests use. "
        "State: $GATEWAYS_SERVICES_STATE (default /tmp/gateways-services); "
        "builds: $GATEWAYS_SERVICES_CACHE (default ~/.cache/gateways-services).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="install if needed, start, wait until healthy")
    up.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"any of {', '.join(SERVICES)} (default: all)",
    )
    install = sub.add_parser("install", help="only install/build what `up` needs (no start)")
    install.add_argument("names", nargs="*", metavar="NAME")
    down = sub.add_parser("down", help="stop services (default: all)")
    down.add_argument("names", nargs="*", metavar="NAME")
    sub.add_parser("status", help="healthy/down for each service (exit 1 if any is down)")
    sub.add_parser("env", help="print shell export lines with the connection settings")
    args = parser.parse_args(argv)
    names = list(dict.fromkeys(getattr(args, "names", []))) or list(SERVICES)
    unknown = [n for n in names if n not in SERVICES]
    if unknown:
        parser.error(f"unknown service {', '.join(unknown)} (known: {', '.join(SERVICES)})")
    if args.command == "up":
        return cmd_up(names)
    if args.command == "install":
        return cmd_install(names)
    if args.command == "down":
        return cmd_down(names)
    if args.command == "status":
        return cmd_status()
    return cmd_env()
