"""Webhook throughput: requests/s accepted and delivered, beside a bare endpoint doing one POST.

The baseline is a bare aiohttp endpoint that POSTs each request body to the same watcher with
one pooled client session and answers 200: the least any webhook-to-watcher hop can do. Ours
adds routing, the CloudEvent builder, delivery bookkeeping and answering only after delivery.
Run: python bench/webhook.py [--requests N] [--concurrency C]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

import yaml

from bench._common import free_port, load, start, start_watcher, stop, wait_http

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
app.cleanup_ctx.append(session)
app.router.add_post("/example", forward)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""


def registry(path: Path, port: int, watcher: str) -> Path:
    document = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "bench",
            "labels": {"gateways.dev/type": "webhook"},
            "annotations": {"gateways.dev/watchers": yaml.safe_dump([watcher])},
        },
        "data": {"example": yaml.safe_dump({"port": port, "endpoint": "/example"})},
    }
    path.write_text(yaml.safe_dump(document))
    return path


async def measure(url: str, requests: int, concurrency: int) -> float:
    await load(url, min(500, requests), concurrency)  # warm up
    seconds, failures = await load(url, requests, concurrency)
    if failures:
        raise SystemExit(f"{url}: {failures} requests were not delivered")
    return requests / seconds


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    watcher_port, ours_port, bare_port = free_port(), free_port(), free_port()
    watcher_url = f"http://127.0.0.1:{watcher_port}/"
    with tempfile.TemporaryDirectory() as tmp:
        processes = [
            start_watcher(watcher_port),
            start([sys.executable, "-c", BASELINE_CODE, str(bare_port), watcher_url]),
            start(
                [
                    sys.executable,
                    "-m",
                    "gateways.cli",
                    "up",
                    "--file",
                    str(registry(Path(tmp) / "r.yaml", ours_port, watcher_url)),
                    "--admin-port",
                    str(free_port()),
                ],
                env={"GATEWAYS_LOG_LEVEL": "WARNING", "GATEWAYS_STATE_DIR": tmp},
            ),
        ]
        try:
            for port in (watcher_port, bare_port, ours_port):
                await wait_http(f"http://127.0.0.1:{port}/example", method="POST")
            bare = await measure(
                f"http://127.0.0.1:{bare_port}/example", args.requests, args.concurrency
            )
            ours = await measure(
                f"http://127.0.0.1:{ours_port}/example", args.requests, args.concurrency
            )
        finally:
            stop(*processes)
    print(f"webhook -> watcher, {args.requests} requests, concurrency {args.concurrency}")
    print(f"  bare aiohttp endpoint, one POST : {bare:8.0f} req/s")
    print(f"  gateways webhook function      : {ours:8.0f} req/s")
    print(f"  ratio                          : {ours / bare:8.2f} x   (target >= 0.8)")


if __name__ == "__main__":
    asyncio.run(main())
