"""The embedded default: the whole gateway in one process, from a local registry file.

``gateways up`` runs a :class:`~gateways.runtime.GatewayRuntime` through the one process main
and prints :func:`banner` once it is up.
"""

from __future__ import annotations

import logging

from gateways.runtime import GatewayRuntime

log = logging.getLogger(__name__)


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
    admin = f"http://{settings.host}:{settings.admin_port}"
    lines.append(f"  status: gateways status   (or {admin}/status)")
    lines.append(f"  page:   {admin}/   events: gateways tail")
    if bundled:
        lines.append(
            "  edit a copy: gateways up --file my-gateways.yaml   (changes apply while it runs)"
        )
    return "\n".join(lines)
