"""kafka-python consumer settings from a KafkaConfig: group, offsets, backoff, TLS and SASL."""

from __future__ import annotations

from typing import Any

from kafka.coordinator.assignors.range import RangePartitionAssignor
from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
from kafka.coordinator.assignors.sticky.sticky_assignor import StickyPartitionAssignor

from gateways.config.kafka import KafkaConfig
from gateways.secrets import resolve
from gateways.source import Origin
from gateways.tls import client_context

ASSIGNORS = {
    "range": RangePartitionAssignor,
    "roundrobin": RoundRobinPartitionAssignor,
    "sticky": StickyPartitionAssignor,
}
# A member that dies without leaving the group holds its partitions this long; heartbeats run on
# kafka-python's own thread, so a slow delivery does not count against it.
SESSION_TIMEOUT_MS = 10_000
HEARTBEAT_INTERVAL_MS = 3_000
MAX_POLL_RECORDS = 500
FETCH_MAX_WAIT_MS = 100


def consumer_settings(config: KafkaConfig, origin: Origin) -> dict[str, Any]:
    """Keyword arguments of ``KafkaConsumer``. Offsets are never auto-committed: the source
    commits what was delivered. Raises GatewayError naming the field when a secret or a TLS
    file cannot be read."""
    settings: dict[str, Any] = {
        "bootstrap_servers": config.brokers,
        "client_id": f"gateways-{origin.gateway}-{origin.source}",
        "group_id": config.group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": config.initial_offset,
        "max_poll_records": MAX_POLL_RECORDS,
        # A rewound or resumed partition is fetched again within this, not a 500 ms long poll.
        "fetch_max_wait_ms": FETCH_MAX_WAIT_MS,
        # kafka-python reconnects to brokers by itself; it follows the config's backoff.
        "reconnect_backoff_ms": max(1, int(config.backoff.duration.total_seconds() * 1000)),
        "reconnect_backoff_max_ms": max(1, int(config.backoff.cap.total_seconds() * 1000)),
        "security_protocol": config.security_protocol,
    }
    if config.consumer_group is not None:
        strategy = ASSIGNORS[config.consumer_group.rebalance_strategy]
        settings["partition_assignment_strategy"] = (strategy,)
        settings["session_timeout_ms"] = SESSION_TIMEOUT_MS
        settings["heartbeat_interval_ms"] = HEARTBEAT_INTERVAL_MS
    if config.tls is not None:
        settings["ssl_context"] = client_context(config.tls)
        settings["ssl_check_hostname"] = not config.tls.insecure_skip_verify
    if config.sasl is not None:
        settings["sasl_mechanism"] = config.sasl.mechanism
        settings["sasl_plain_username"] = config.sasl.user
        settings["sasl_plain_password"] = resolve(config.sasl.password)
    return settings
