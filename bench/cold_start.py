"""Cold start and idle memory per function.

Cold start: from process start to the first event delivered to the watcher (webhook,
dispatcher) or the first trigger answered (calendar), beside the start-up of a bare
`python -c "import aiohttp"` measured the same way. Memory: resident set size of the idle
process once it answered. Run: python bench/cold_start.py
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import yaml

from bench._common import free_port, start, start_watcher, stop, wait_http


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def registry(path: Path, watcher: str) -> Path:
    documents = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": name,
                "labels": {"gateways.dev/type": kind},
                "annotations": {"gateways.dev/watchers": yaml.safe_dump([watcher])},
            },
            "data": {"example": yaml.safe_dump(config)},
        }
        for name, kind, config in (
            ("hooks", "webhook", {"endpoint": "/example"}),
            ("ticks", "calendar", {"interval": "1s"}),
        )
    ]
    path.write_text(yaml.safe_dump_all(documents))
    return path


REQUESTS = {
    "webhook": ("/example", b'{"n": 1}', {"content-type": "application/json"}),
    "dispatcher": (
        "/?gateway=hooks",
        json.dumps(
            {"gateway": "hooks", "source": "s", "kind": "nats", "events": [{"data": "{}"}]}
        ).encode(),
        {"content-type": "application/json"},
    ),
    "calendar": ("/", b"", {"x-topic": "cron-function", "x-connector": "cron-connector"}),
}


async def first_answer(function: str, registry_file: Path, state: str) -> tuple[float, float]:
    port = free_port()
    path, body, headers = REQUESTS[function]
    started = time.perf_counter()
    process = start(
        [sys.executable, "-m", "gateways.cli", "serve", function, "--port", str(port)],
        env={
            "GATEWAYS_REGISTRY_FILE": str(registry_file),
            "GATEWAYS_ADMIN_PORT": str(free_port()),
            "GATEWAYS_STATE_DIR": state,
            "GATEWAYS_LOG_LEVEL": "WARNING",
        },
    )
    try:
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    async with session.post(
                        f"http://127.0.0.1:{port}{path}", data=body, headers=headers
                    ) as reply:
                        if reply.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.005)
        elapsed = time.perf_counter() - started
        await asyncio.sleep(1.0)
        return elapsed, rss_mb(process.pid)
    finally:
        stop(process)


def bare_start() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import aiohttp"], check=True)
    return time.perf_counter() - started


async def main() -> None:
    watcher_port = free_port()
    watcher = start_watcher(watcher_port)
    try:
        await wait_http(f"http://127.0.0.1:{watcher_port}/")
        with tempfile.TemporaryDirectory() as tmp:
            file = registry(Path(tmp) / "registry.yaml", f"http://127.0.0.1:{watcher_port}/")
            print(f"baseline: python -c 'import aiohttp'  {bare_start() * 1000:7.0f} ms")
            for function in ("webhook", "dispatcher", "calendar"):
                seconds, rss = await first_answer(function, file, tmp)
                print(
                    f"{function:<10} cold start {seconds * 1000:7.0f} ms (target < 500)"
                    f"   idle RSS {rss:6.1f} MB (target < 80)"
                )
    finally:
        stop(watcher)


if __name__ == "__main__":
    asyncio.run(main())
