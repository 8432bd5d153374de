"""Registry scale: 1,000 webhook sources in one ConfigMap.

Prints the time to parse and reconcile the ConfigMap (first load, a reload with one source
changed, a reload with nothing changed) and the webhook routing cost with 1 and with 1,000
endpoints (same request, same no-op delivery), whose ratio shows routing is flat.
Run: python bench/registry_scale.py [--sources N]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from tempfile import TemporaryDirectory

from bench._common import configmap
from functions.webhook.message import to_raw_event
from functions.webhook.source import KIND as WEBHOOK
from gateways.dispatch import Dispatcher
from gateways.function import Request, Response
from gateways.hooks.endpoint import HookEndpoint
from gateways.hooks.router import Route, Router
from gateways.kinds import SourceContext
from gateways.registry.file import load_text
from gateways.registry.reconciler import Reconciler
from gateways.settings import Settings
from gateways.source import Origin


def configmap_text(count: int, port: int, changed: int | None = None) -> str:
    sources = {
        f"hook-{i}": {
            "port": port,
            "endpoint": f"/hook/{i}",
            "method": "PUT" if i == changed else "POST",
        }
        for i in range(count)
    }
    return configmap("many", "webhook", sources, ["http://127.0.0.1:9/"])


async def reload_times(count: int) -> dict[str, float]:
    from bench._common import free_port

    port = free_port()
    context = SourceContext(Settings(state_dir=Path("/tmp")))
    reconciler = Reconciler(context, Dispatcher(), {"webhook": WEBHOOK})
    times = {}
    for label, changed in (("first load", None), ("one source changed", 7), ("nothing changed", 7)):
        text = configmap_text(count, port, changed)
        started = time.perf_counter()
        gateways, problems = load_text(text, "bench")
        assert not problems, problems
        await reconciler.apply(gateways)
        times[label] = time.perf_counter() - started
    running = sum(1 for s in reconciler.status() if s.state == "running")
    assert running == count, f"{running} of {count} running"
    await reconciler.close()
    return times


async def routing_cost(endpoints: int, requests: int = 20000) -> float:
    router = Router()

    async def accept(request: Request) -> Response:
        to_raw_event(request)  # what a webhook source does before it emits
        return Response(200)

    for i in range(endpoints):
        endpoint = HookEndpoint(endpoint=f"/hook/{i}")
        router.add(Route(Origin("many", f"hook-{i}", "webhook"), endpoint, accept))
    request = Request(
        "POST", f"/hook/{endpoints // 2}", {"content-type": "application/json"}, b"{}"
    )
    started = time.perf_counter()
    for _ in range(requests):
        await router.handle(request)
    return (time.perf_counter() - started) / requests


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sources", type=int, default=1000)
    args = parser.parse_args()
    with TemporaryDirectory():
        times = await reload_times(args.sources)
    print(f"registry of {args.sources} webhook sources in one ConfigMap")
    for label, seconds in times.items():
        print(f"  parse + reconcile, {label:<20}: {seconds * 1000:8.1f} ms   (target < 100 ms)")
    one, many = await routing_cost(1), await routing_cost(args.sources)
    print(f"  routing, 1 endpoint               : {one * 1e6:8.2f} us/request")
    print(f"  routing, {args.sources} endpoints          : {many * 1e6:8.2f} us/request")
    print(f"  ratio                             : {many / one:8.2f} x   (flat = about 1)")


if __name__ == "__main__":
    asyncio.run(main())
