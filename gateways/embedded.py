"""The embedded default: the whole gateway in one process, from a local registry file."""

from __future__ import annotations

import logging

from gateways.hosting.gc import tune_for_serving
from gateways.hosting.serve import wait_for_signal
from gateways.runtime import GatewayRuntime
from gateways.settings import Settings

log = logging.getLogger(__name__)


async def run_embedded(settings: Settings, bundled: bool = False) -> None:
    runtime = GatewayRuntime(settings)
    await runtime.start()
    tune_for_serving()
    try:
        print(banner(runtime, bundled), flush=True)
        await wait_for_signal()
    finally:
        await runtime.stop()


def banner(runtime: GatewayRuntime, bundled: bool) -> str:
    settings = runtime.settings
    lines = [
        f"gateways: running {settings.registry_file}"
        + (" (the bundled example)" if bundled else "")
    ]
    for status in runtime.reconciler.status():
        detail = status.address or status.reason
        lines.append(
            f"  {status.gateway}/{status.name} [{status.kind}] {status.state} {detail}".rstrip()
        )
        if status.kind == "webhook" and status.state == "running" and status.address:
            lines.append(
                "    try: curl -X POST -H 'Content-Type: application/json'"
                f' -d \'{{"hello": "world"}}\' {status.address}'
            )
    lines.append(
        f"  status: gateways status   (or http://{settings.host}:{settings.admin_port}/status)"
    )
    if bundled:
        lines.append(
            "  edit a copy: gateways up --file my-gateways.yaml   (changes apply while it runs)"
        )
    return "\n".join(lines)
