"""The adapter's Prometheus metrics, served on the admin port's /metrics.

Counted by the gateway client per event it received from its event-source server, labelled
with the kind, gateway and source: received, delivered (acked), failed (nacked, for
redelivery), retried (dispatcher requests repeated), in flight, and delivery latency
(received -> delivered or dead-lettered downstream). Counters end in ``_total`` and
durations are in seconds, as Prometheus names them.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Gauge, Histogram

from gateways.source import Origin

_LABELS = ("kind", "gateway", "source")

EVENTS_RECEIVED = Counter(
    "gateways_adapter_events_received_total",
    "Events received from the event-source server",
    _LABELS,
)
EVENTS_DELIVERED = Counter(
    "gateways_adapter_events_delivered_total",
    "Events delivered (or dead-lettered) and acknowledged",
    _LABELS,
)
EVENTS_FAILED = Counter(
    "gateways_adapter_events_failed_total",
    "Events not delivered, left to the broker for redelivery",
    _LABELS,
)
EVENTS_RETRIED = Counter(
    "gateways_adapter_events_retried_total",
    "Events sent to the dispatcher again after a failed request",
    _LABELS,
)
EVENTS_IN_FLIGHT = Gauge(
    "gateways_adapter_events_in_flight",
    "Events received and not yet acknowledged or rejected",
    _LABELS,
)
DELIVERY_LATENCY = Histogram(
    "gateways_adapter_delivery_latency_seconds",
    "From receipt of an event to its delivery downstream",
    _LABELS,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)


def labels(origin: Origin) -> tuple[str, str, str]:
    return (origin.kind, origin.gateway, origin.source)


def for_origin(origin: Origin) -> tuple[Any, Any, Any, Any, Any]:
    """The labelled (received, delivered, failed, in flight, latency) metrics of one source."""
    values = labels(origin)
    return (
        EVENTS_RECEIVED.labels(*values),
        EVENTS_DELIVERED.labels(*values),
        EVENTS_FAILED.labels(*values),
        EVENTS_IN_FLIGHT.labels(*values),
        DELIVERY_LATENCY.labels(*values),
    )
