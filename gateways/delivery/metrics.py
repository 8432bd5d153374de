"""Prometheus metrics of delivery to watchers, served on every process's /metrics."""

from __future__ import annotations

from prometheus_client import Counter

DELIVERIES = Counter(
    "gateways_watcher_deliveries",
    "Events offered to a watcher, by outcome: delivered, failed or dead_lettered",
    ("watcher", "outcome"),
)
RETRIES = Counter(
    "gateways_watcher_retries", "Attempts repeated after a retryable failure", ("watcher",)
)
