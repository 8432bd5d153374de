"""deploy/grafana/gateways.json: a dashboard Grafana imports as it is, whose every query names
only metrics (and labels) that a running ``gateways up`` exposes on /metrics."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp

from tests.kit import ROOT, GatewaysUp, configmap, free_port, wait_until_async, write_registry
from tests.watcher import RecordingWatcher

DASHBOARD = ROOT / "deploy" / "grafana" / "gateways.json"
METRIC = re.compile(r"\bgateways_[a-z0-9_]+")
GROUPING = re.compile(r"\bby \(([^)]*)\)")
MATCHER = re.compile(r"([a-z_]+)\s*(?:=~|!=|!~|=)\s*\"")
# The families the README's metrics table lists: the dashboard shows each of them.
FAMILIES = {
    "gateways_watcher_deliveries_total",
    "gateways_watcher_retries_total",
    "gateways_watcher_deliveries_in_flight",
    "gateways_watcher_delivery_duration_seconds",
    "gateways_webhook_requests_total",
    "gateways_adapter_events_received_total",
    "gateways_adapter_events_delivered_total",
    "gateways_adapter_events_failed_total",
    "gateways_adapter_events_retried_total",
    "gateways_adapter_events_in_flight",
    "gateways_adapter_delivery_latency_seconds",
}


def _queries(dashboard: dict[str, Any]) -> Iterator[str]:
    def panels(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for panel in items:
            yield panel
            yield from panels(panel.get("panels", []))

    for panel in panels(dashboard["panels"]):
        for target in panel.get("targets", []):
            yield target["expr"]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            yield variable["query"]["query"]


def test_the_dashboard_is_importable_json() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["title"] and dashboard["uid"] and dashboard["schemaVersion"] >= 36
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert {"x", "y", "w", "h"} <= panel["gridPos"].keys()
        for target in panel.get("targets", []):
            assert target["datasource"]["uid"] == "${datasource}"
    assert any(v["type"] == "datasource" for v in dashboard["templating"]["list"])


async def test_every_query_names_what_a_running_gateway_exposes(
    tmp_path: Path, watcher: RecordingWatcher
) -> None:
    port = free_port()
    registry = write_registry(
        tmp_path / "registry.yaml",
        configmap(
            "hooks", "webhook", {"example": {"port": port, "endpoint": "/example"}}, [watcher.url]
        ),
    )
    async with GatewaysUp(registry) as gateway, aiohttp.ClientSession() as session:

        async def delivered() -> bool:
            try:
                async with session.post(f"http://127.0.0.1:{port}/example", data=b"{}") as reply:
                    return reply.status == 200
            except aiohttp.ClientError:
                return False

        await wait_until_async(delivered, timeout=30)
        async with session.get(f"http://127.0.0.1:{gateway.admin_port}/metrics") as reply:
            exposition = await reply.text()

    names, labels = _exposed(exposition)
    queries = list(_queries(json.loads(DASHBOARD.read_text())))
    used = {name for query in queries for name in METRIC.findall(query)}
    assert used - names == set(), f"not exposed: {sorted(used - names)}"
    assert FAMILIES - {_family(name) for name in used} == set()
    # Labels grouped by or matched on belong to a metric of the query (where /metrics shows
    # samples of every metric of it, with their labels).
    for query in queries:
        metrics = METRIC.findall(query)
        if not all(name in labels for name in metrics):
            continue  # no samples of it yet (an adapter's metrics, in gateways up)
        known = set().union(*(labels[name] for name in metrics))
        grouped = {x.strip() for g in GROUPING.findall(query) for x in g.split(",") if x.strip()}
        matched = {m for m in MATCHER.findall(query) if m != "__name__"}
        assert (grouped | matched) - known - {"le"} == set(), query


def _exposed(exposition: str) -> tuple[set[str], dict[str, set[str]]]:
    """The sample names a scrape may show (from ``# TYPE`` lines), and each sample's labels."""
    names: set[str] = set()
    labels: dict[str, set[str]] = {}
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            names.add(name)
            if kind == "histogram":
                names.update(f"{name}_{part}" for part in ("bucket", "sum", "count"))
        elif line and not line.startswith("#"):
            name, _, rest = line.partition("{")
            names.add(name.split(" ")[0])
            if rest:
                found = set(re.findall(r"([a-zA-Z_]+)=\"", rest.rpartition("}")[0]))
                labels.setdefault(name, set()).update(found)
    return names, labels


def _family(name: str) -> str:
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and name.removesuffix(suffix) in FAMILIES:
            return name.removesuffix(suffix)
    return name
