"""Prometheus metrics of delivery to watchers, served on every process's /metrics.

Names follow Prometheus's conventions: counters end in ``_total``, durations are in seconds.
``watcher`` is the watcher's URL without credentials or query (or ``console``).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

DELIVERIES = Counter(
    "gateways_watcher_deliveries_total",
    "Events offered to a watcher, by outcome: delivered, failed or dead_lettered",
    ("watcher", "outcome"),
)
RETRIES = Counter(
    "gateways_watcher_retries_total",
    "Attempts repeated after a retryable failure",
    ("watcher",),
)
IN_FLIGHT = Gauge(
    "gateways_watcher_deliveries_in_flight",
    "Deliveries under way to a watcher (retries and dead-lettering included)",
    ("watcher",),
)
LATENCY = Histogram(
    "gateways_watcher_delivery_duration_seconds",
    "From the start of an event's delivery to a watcher to its outcome, retries included",
    ("watcher", "outcome"),
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
