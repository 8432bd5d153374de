"""The kafka-python side of a Kafka source: one thread that owns the consumer.

It connects and subscribes (retrying with the config's backoff), then polls and hands what it
fetched to the partitions' lanes (:mod:`.partitions`). kafka-python reconnects to brokers by
itself; losing every broker connection is reported as ``degraded``, and back as ``running``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from kafka import ConsumerRebalanceListener, KafkaConsumer
from kafka.errors import KafkaError

from adapters.streams.kafka.partitions import Partitions
from adapters.streams.kafka.subscription import Refusal, subscribe
from gateways.config.kafka import KafkaConfig
from gateways.errors import GatewayError
from gateways.loopbridge import StartReporter, post, settle
from gateways.source import Emit

log = logging.getLogger(__name__)

_POLL_MS = 100
_HEALTH_EVERY = 2.0  # seconds between broker-connection checks
OnStatus = Callable[[str, str], None]  # (state, reason), called on the event loop


class ConsumerThread:
    def __init__(
        self,
        config: KafkaConfig,
        settings: dict[str, Any],
        name: str,
        emit: Emit,
        on_status: OnStatus,
        *,
        lane_limit: int,
        grace: float,
    ) -> None:
        self.config = config
        self._settings = settings
        self._name = name
        self._emit = emit
        self._on_status = on_status
        self._lane_limit = lane_limit
        self._grace = grace
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None

    async def open(self) -> None:
        """Returns once subscribed, or after a first failure a retry may cure (the retries go
        on in the background); raises GatewayError when a topic or partition does not exist."""
        self._loop = asyncio.get_running_loop()
        self._partitions = Partitions(
            self._emit,
            self.config.backoff,
            self._name,
            self._loop,
            grouped=self.config.group_id is not None,
            lane_limit=self._lane_limit,
            grace=self._grace,
        )
        ready: asyncio.Future[None] = self._loop.create_future()
        self._start = StartReporter(self._loop, ready, self._on_status)
        self._thread = threading.Thread(target=self._run, name=f"kafka {self._name}", daemon=True)
        self._thread.start()
        await ready

    async def close(self, join_within: float) -> None:
        """Finish the deliveries in progress, commit them, leave the group."""
        self._closing.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, join_within)

    # ---------------------------------------------------------------- consumer thread

    def _run(self) -> None:
        try:
            consumer = self._connect()
            if consumer is None:
                return
            try:
                self._consume(consumer)
            finally:
                self._partitions.close(consumer)
                with contextlib.suppress(Exception):
                    consumer.close(autocommit=False)
        except Exception as exc:  # a bug must not leave open() waiting or the source silent
            log.exception("kafka %s: consumer thread failed", self._name)
            reason = f"kafka consumer failed: {exc}"
            post(self._loop, settle, self._start.ready, None, GatewayError(reason))
            post(self._loop, self._on_status, "failed", reason)

    def _connect(self) -> Any:
        """A subscribed (or assigned) consumer; None once closing or refused for good."""
        failures = 0
        while not self._closing.is_set():
            consumer = None
            try:
                consumer = KafkaConsumer(**self._settings)
                subscribe(consumer, self.config, _Rebalance(self._partitions, consumer, self._name))
                self._start.connected("connected")
                return consumer
            except Refusal as exc:
                permanent, problem = True, str(exc)
            except (KafkaError, OSError) as exc:
                permanent, problem = False, f"{type(exc).__name__}: {exc}"
            if consumer is not None:
                with contextlib.suppress(Exception):
                    consumer.close(autocommit=False)
            reason = f"{self.config.url}: {problem}"
            if self._start.failed(
                reason, permanent=permanent, failures=failures, backoff=self.config.backoff
            ):
                return None
            delay = self.config.backoff.delay(failures)
            failures += 1
            log.warning("kafka %s: %s; retrying in %.1fs", self._name, reason, delay)
            self._closing.wait(delay)
        return None

    def _consume(self, consumer: Any) -> None:
        partitions = self._partitions
        next_health_check = time.monotonic() + _HEALTH_EVERY
        while not self._closing.is_set():
            partitions.forget_revoked(consumer)
            partitions.steer(consumer)
            partitions.commit(consumer)
            try:
                batches = consumer.poll(timeout_ms=_POLL_MS)
            except KafkaError as exc:
                # kafka-python retries connections itself; an error it raises is worth a pause.
                delay = self.config.backoff.delay(0)
                log.warning("kafka %s: poll failed, again in %.1fs: %s", self._name, delay, exc)
                post(self._loop, self._on_status, "degraded", f"{self.config.url}: {exc}")
                self._closing.wait(delay)
                continue
            partitions.feed(batches)
            if time.monotonic() >= next_health_check:
                next_health_check = time.monotonic() + _HEALTH_EVERY
                self._check_health(consumer)

    def _check_health(self, consumer: Any) -> None:
        try:
            connections = consumer.metrics()["consumer-metrics"]["connection-count"]
        except (KeyError, TypeError):
            return
        if connections > 0:
            post(self._loop, self._on_status, "running", "broker connection restored")
        else:
            post(
                self._loop, self._on_status, "degraded", f"{self.config.url}: no broker connection"
            )


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
