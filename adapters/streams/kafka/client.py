"""The kafka-python side of a Kafka source: its settings, its subscription, and one connection.

A :class:`Connection` is one session of the source's supervisor: a thread that owns one
``KafkaConsumer``. It connects, checks the topics and subscribes (or assigns the pinned
partition), calls ``connected()`` once it polls, then hands what it fetches to the partitions'
lanes (:mod:`.partitions`) until the source stops or every broker connection has been gone for
a while (kafka-python reconnects by itself in between). On the way out it finishes the
deliveries in progress, commits them, and closes the consumer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition
from kafka.coordinator.assignors.range import RangePartitionAssignor
from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
from kafka.coordinator.assignors.sticky.sticky_assignor import StickyPartitionAssignor
from kafka.errors import KafkaError

from adapters.streams.kafka.config import KafkaConfig
from adapters.streams.kafka.parked import restore_resumed
from adapters.streams.kafka.partitions import Partitions
from adapters.streams.kafka.rejoin import finish_rebalances
from gateways.inflight import InFlight
from gateways.loopbridge import run_blocking
from gateways.secrets import resolve
from gateways.source import Emit, Origin
from gateways.supervisor import PermanentError
from gateways.tls import client_context

log = logging.getLogger(__name__)

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
JOIN_WITHIN = 35.0  # seconds a stopped session waits for its thread (a bootstrap takes up to 30)
_POLL_MS = 100
_HEALTH_EVERY = 1.0  # seconds between broker-connection checks
_LOST_AFTER = 2  # checks in a row without any broker connection end the session


class Refusal(PermanentError):
    """The cluster answered, and what the config names is not there: retrying will not help."""


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


def subscribe(consumer: Any, config: KafkaConfig, listener: Any, positions: dict[Any, int]) -> None:
    """Check every topic exists, then subscribe (group) or assign the one partition (no group),
    starting where an earlier connection of the source left it (``positions``).

    Raises Refusal naming the field when a topic or the partition does not exist.
    """
    known: dict[str, set[int]] = {}
    for topic in config.topics:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            raise Refusal(f"topic: {topic!r} does not exist")
        known[topic] = set(partitions)
    if config.partition is None:
        consumer.subscribe(list(config.topics), listener=listener)
        return
    if config.partition not in known[config.topic]:
        highest = max(known[config.topic])
        raise Refusal(
            f"partition: topic {config.topic!r} has no partition {config.partition} "
            f"(it has 0 to {highest})"
        )
    pinned = TopicPartition(config.topic, config.partition)
    consumer.assign([pinned])
    if pinned in positions:
        consumer.seek(pinned, positions[pinned])


class Connection:
    """One consumer connection of a source, on a thread of its own; see the module docstring.

    ``positions`` belongs to the source and outlives the connection: with a pinned partition
    (nothing is committed) it is where the next connection goes on reading.
    """

    def __init__(
        self,
        config: KafkaConfig,
        settings: dict[str, Any],
        name: str,
        emit: Emit,
        pool: InFlight,
        positions: dict[Any, int],
        *,
        grace: float,
    ) -> None:
        self.config = config
        self._settings = settings
        self._name = name
        self._emit = emit
        self._pool = pool
        self._positions = positions
        self._grace = grace
        self._closing = threading.Event()

    async def session(self, connected: Callable[[], None]) -> str | None:
        """Runs the connection; returns why it ended, raises what ended it (PermanentError
        when the topic or partition does not exist). Cancelled: closes the consumer (the
        deliveries in progress finish and are committed) and waits for the thread."""
        loop = asyncio.get_running_loop()
        return await run_blocking(
            f"kafka {self._name}",
            lambda ready: self._work(loop, ready),
            connected,
            self._interrupt,
            JOIN_WITHIN,
        )

    async def _interrupt(self, ended: asyncio.Future[str | None]) -> None:
        self._closing.set()

    # ---------------------------------------------------------------- consumer thread

    def _work(self, loop: asyncio.AbstractEventLoop, ready: Callable[[], None]) -> str | None:
        try:
            return self._consume(loop, ready)
        except (PermanentError, KafkaError, OSError):
            raise
        except Exception as exc:  # a bug: retrying the same code would not help
            log.exception("kafka %s: consumer thread failed", self._name)
            raise PermanentError(f"kafka consumer failed: {exc}") from exc

    def _consume(self, loop: asyncio.AbstractEventLoop, ready: Callable[[], None]) -> str | None:
        """One consumer from connect to close: None once closing, the reason when lost."""
        consumer = KafkaConsumer(**self._settings)
        restore_resumed(consumer)
        if self.config.group_id is not None:
            finish_rebalances(consumer)
        partitions = Partitions(
            self._emit,
            self._pool,
            self.config.backoff,
            self._name,
            loop,
            grouped=self.config.group_id is not None,
            grace=self._grace,
        )
        lost: str | None = None
        try:
            listener = _Rebalance(partitions, consumer, self._name)
            subscribe(consumer, self.config, listener, self._positions)
            lost = self._poll(consumer, partitions, ready)
            return lost
        finally:
            left_at = partitions.close(consumer, commit=lost is None)
            if self.config.partition is not None:
                self._positions.update(left_at)
            with contextlib.suppress(Exception):
                consumer.close(autocommit=False, timeout_ms=int(self._grace * 1000))

    def _poll(
        self,
        consumer: Any,
        partitions: Partitions,
        ready: Callable[[], None],
    ) -> str | None:
        polled = False
        unreachable = 0  # broker-connection checks in a row that found none
        next_check = time.monotonic() + _HEALTH_EVERY
        while not self._closing.is_set():
            partitions.forget_revoked(consumer)
            partitions.steer(consumer)
            partitions.commit(consumer)
            partitions.feed(consumer.poll(timeout_ms=_POLL_MS))
            if not polled:
                polled = True
                ready()
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + _HEALTH_EVERY
                unreachable = 0 if _has_connection(consumer) else unreachable + 1
                if unreachable >= _LOST_AFTER:
                    return "no broker connection"
        return None


def _has_connection(consumer: Any) -> bool:
    try:
        return bool(consumer.metrics()["consumer-metrics"]["connection-count"])
    except (KeyError, TypeError):
        return True  # no such metric: nothing to go by


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, partitions: Partitions, consumer: Any, name: str) -> None:
        self.partitions = partitions
        self.consumer = consumer
        self.name = name

    def on_partitions_revoked(self, revoked: Any) -> None:
        self.partitions.revoked(self.consumer, list(revoked))

    def on_partitions_assigned(self, assigned: Any) -> None:
        log.info("kafka %s: assigned %s", self.name, sorted(map(tuple, assigned)))
        self.partitions.assigned(self.consumer, list(assigned))
