"""Delivery of one CloudEvent to every watcher, at least once, with Knative's retry semantics.

Each watcher gets the event concurrently over one pooled, keep-alive HTTP session. A watcher
that refuses it is retried by the one HTTP retry policy (:mod:`gateways.retry`) with the
spec's retry count and backoff. A watcher that still has not accepted the event is
dead-lettered when the spec names a sink, the event then carrying Knative's ``knativeerror*``
extensions. The report says, per watcher, whether the event is safe: accepted or dead-lettered.
Every request carries the W3C ``traceparent`` of its hop (:mod:`gateways.tracing`); each
delivery is timed and counted while in flight (:mod:`gateways.delivery.metrics`).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TextIO
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from gateways import tracing
from gateways.delivery.metrics import DELIVERIES, IN_FLIGHT, LATENCY, RETRIES
from gateways.delivery.report import DeliveryReport, WatcherOutcome
from gateways.delivery.spec import DeliverySpec
from gateways.delivery.watchers import Watcher
from gateways.events.http import to_binary, to_json, to_structured
from gateways.events.model import CloudEvent
from gateways.retry import retry_after_seconds

log = logging.getLogger(__name__)

# Knative keeps at most this much of the last response (base64) in ``knativeerrordata``.
ERROR_DATA_MAX = 1024
# A watcher's answer is read to the end so its connection can be reused, but only this far.
_DRAIN_LIMIT = 1 << 20


@dataclass(frozen=True, slots=True)
class _Attempt:
    """The result of the last HTTP attempt: a status and body, or a connection error."""

    status: int | None = None
    body: bytes = b""
    error: str | None = None
    retry_after: float | None = None

    @property
    def accepted(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    done = accepted  # what the retry policy asks

    def describe(self) -> str:
        return self.error or f"HTTP {self.status}"


class Deliverer:
    """Delivers CloudEvents to a fixed set of watchers under one delivery spec.

    At most ``max_in_flight`` deliveries (one event to one watcher, retries and dead-lettering
    included) run at once; further ``deliver`` calls wait for a slot, which is the backpressure
    a source feels. They share at most ``connections`` keep-alive connections per watcher
    (host and port): a request waits for a free one rather than opening more, as more open
    connections cost the client more CPU per request (docs/benchmarks.md). Outcomes and
    retries are counted in Prometheus metrics (per watcher).
    """

    def __init__(
        self,
        watchers: Sequence[Watcher],
        spec: DeliverySpec | None = None,
        *,
        max_in_flight: int = 256,
        connections: int = 64,
        keepalive_timeout: float = 30.0,
        console: TextIO | None = None,
    ) -> None:
        if not watchers:
            raise ValueError("a Deliverer needs at least one watcher")
        if max_in_flight < 1 or connections < 1:
            raise ValueError("max_in_flight and connections must be at least 1")
        self.watchers = tuple(watchers)
        self._safe_urls = {w.url: w.url if w.is_console else _sanitized(w.url) for w in watchers}
        # The labelled metrics, looked up once rather than per event.
        self._in_flight = {w.url: IN_FLIGHT.labels(self._safe_urls[w.url]) for w in watchers}
        self._latencies: dict[tuple[str, str], Any] = {}
        self._counters: dict[tuple[str, str], Any] = {}  # labelled DELIVERIES, per (url, outcome)
        self.spec = spec or DeliverySpec()
        self.max_in_flight = max_in_flight
        self.connections = connections
        self._keepalive_timeout = keepalive_timeout
        self._console = console
        self._slots = asyncio.Semaphore(max_in_flight)
        self._policy = self.spec.retry_policy()
        self._timeout = aiohttp.ClientTimeout(total=self.spec.timeout.total_seconds())
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    async def deliver(self, event: CloudEvent) -> DeliveryReport:
        """Send ``event`` to every watcher; a watcher's failure is in the report, not raised."""
        if self._closed:
            raise RuntimeError("Deliverer is closed")
        if tracing.active():
            with tracing.span("dispatch", event, **{"gateways.watchers": len(self.watchers)}):
                return await self._deliver_all(event)
        return await self._deliver_all(event)

    async def _deliver_all(self, event: CloudEvent) -> DeliveryReport:
        if len(self.watchers) == 1:  # the common case; no task per event
            return DeliveryReport(event.id, (await self._deliver_one(event, self.watchers[0]),))
        outcomes = await asyncio.gather(*(self._deliver_one(event, w) for w in self.watchers))
        return DeliveryReport(event.id, tuple(outcomes))

    def _count(self, outcome: str, url: str) -> None:
        key = (url, outcome)
        counter = self._counters.get(key)
        if counter is None:
            safe_url = self._safe_urls.get(url) or _sanitized(url)
            counter = self._counters[key] = DELIVERIES.labels(safe_url, outcome)
        counter.inc()

    async def close(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> Deliverer:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _deliver_one(self, event: CloudEvent, watcher: Watcher) -> WatcherOutcome:
        async with self._slots:
            safe_url = self._safe_urls[watcher.url]
            in_flight = self._in_flight[watcher.url]
            in_flight.inc()
            started = time.monotonic()
            try:
                if tracing.active():
                    with tracing.span("deliver", event, **{"url.full": safe_url}) as span:
                        outcome = await self._attempt(
                            event, watcher, tracing.hop_headers(event, span)
                        )
                        tracing.record(span, outcome.status, outcome.error)
                else:
                    outcome = await self._attempt(event, watcher, tracing.hop_headers(event))
            finally:
                in_flight.dec()
            self._latency(safe_url, _outcome_name(outcome)).observe(time.monotonic() - started)
            return outcome

    def _latency(self, safe_url: str, outcome: str) -> Any:
        key = (safe_url, outcome)
        child = self._latencies.get(key)
        if child is None:
            child = self._latencies[key] = LATENCY.labels(safe_url, outcome)
        return child

    async def _attempt(
        self, event: CloudEvent, watcher: Watcher, trace_headers: dict[str, str]
    ) -> WatcherOutcome:
        if watcher.is_console:
            return self._print(event, watcher)
        encode = to_structured if watcher.mode == "structured" else to_binary
        headers, body = encode(event)
        headers.update(trace_headers)  # the W3C headers of this hop, besides the attribute
        attempt, attempts = await self._send(watcher.url, headers, body)
        if attempt.accepted:
            self._count("delivered", watcher.url)
            return WatcherOutcome(_sanitized(watcher.url), True, attempt.status, attempts)
        return await self._handle_failure(event, watcher.url, attempt, attempts, trace_headers)

    async def _handle_failure(
        self,
        event: CloudEvent,
        url: str,
        attempt: _Attempt,
        attempts: int,
        trace_headers: dict[str, str],
    ) -> WatcherOutcome:
        safe_url = _sanitized(url)
        problem = f"{attempt.describe()} after {attempts} attempt(s)"
        sink = self.spec.dead_letter_sink
        dead_lettered = False
        if sink is not None:
            headers, body = to_binary(_dead_letter(event, url, attempt))
            sink_attempt, _ = await self._send(sink, {**headers, **trace_headers}, body)
            dead_lettered = sink_attempt.accepted
            if dead_lettered:
                problem += f"; dead-lettered to {_sanitized(sink)}"
            else:
                problem += (
                    f"; dead-letter sink {_sanitized(sink)} failed: {sink_attempt.describe()}"
                )
        self._count("dead_lettered" if dead_lettered else "failed", url)
        log.warning(
            "event %s not delivered to %s: %s",
            event.id,
            safe_url,
            problem,
            extra={"event_id": event.id},
        )
        return WatcherOutcome(
            safe_url, dead_lettered, attempt.status, attempts, problem, dead_lettered
        )

    async def _send(self, url: str, headers: dict[str, str], body: bytes) -> tuple[_Attempt, int]:
        """POST with retries as the spec says; the last attempt and how many were made."""

        def retrying(attempt: _Attempt, retry: int, wait: float) -> None:
            RETRIES.labels(_sanitized(url)).inc()
            log.debug("retrying %s in %.3fs after %s", _sanitized(url), wait, attempt.describe())

        return await self._policy.run(lambda: self._post(url, headers, body), retrying)

    async def _post(self, url: str, headers: dict[str, str], body: bytes) -> _Attempt:
        # Without a content-type (no datacontenttype) aiohttp would add one, which the
        # watcher would read as the event's datacontenttype.
        skip = () if "content-type" in headers else ("Content-Type",)
        timeout = self._timeout
        try:
            async with self._client().post(
                url,
                data=body,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
                skip_auto_headers=skip,
            ) as response:
                kept = await _drain(response)
                status = response.status
                if 200 <= status < 300:
                    return _Attempt(status, kept)
                retry_after = retry_after_seconds(status, response.headers.get("Retry-After"))
                return _Attempt(status, kept, None, retry_after)
        except TimeoutError:
            return _Attempt(error=f"timed out after {timeout.total:g}s")
        except aiohttp.ClientError as exc:
            return _Attempt(error=f"{type(exc).__name__}: {exc}")

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self.max_in_flight,
                limit_per_host=self.connections,
                keepalive_timeout=self._keepalive_timeout,
            )
            self._session = aiohttp.ClientSession(connector=connector)
        return self._session

    def _print(self, event: CloudEvent, watcher: Watcher) -> WatcherOutcome:
        stream = self._console or sys.stdout
        try:
            stream.write(json.dumps(to_json(event), separators=(",", ":")) + "\n")
            stream.flush()
        except (OSError, ValueError) as exc:
            self._count("failed", watcher.url)
            log.warning(
                "event %s not printed to the console: %s",
                event.id,
                exc,
                extra={"event_id": event.id},
            )
            return WatcherOutcome(watcher.url, False, None, 1, str(exc))
        self._count("delivered", watcher.url)
        return WatcherOutcome(watcher.url, True, None, 1)


def _outcome_name(outcome: WatcherOutcome) -> str:
    if outcome.dead_lettered:
        return "dead_lettered"
    return "delivered" if outcome.ok else "failed"


async def _drain(response: aiohttp.ClientResponse) -> bytes:
    """The first ERROR_DATA_MAX bytes of the body; the rest is read and dropped."""
    if response.content_length is not None and response.content_length <= _DRAIN_LIMIT:
        return (await response.read())[:ERROR_DATA_MAX]  # the usual, short answer: one read
    kept = b""
    total = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        if len(kept) < ERROR_DATA_MAX:
            kept += chunk[: ERROR_DATA_MAX - len(kept)]
        total += len(chunk)
        if total > _DRAIN_LIMIT:
            break
    return kept


def _dead_letter(event: CloudEvent, url: str, attempt: _Attempt) -> CloudEvent:
    """A copy of ``event`` with Knative's error extensions, as a Knative channel sets them."""
    attributes = dict(event.attributes)
    attributes["knativeerrordest"] = _sanitized(url)
    if attempt.status is not None:
        attributes["knativeerrorcode"] = attempt.status
    body = attempt.body if attempt.error is None else f"dispatch error: {attempt.error}".encode()
    # Knative drops control characters (not allowed in header values), base64-encodes, and
    # truncates the encoded text.
    printable = bytes(b for b in body if b >= 0x20 and b != 0x7F)
    if printable:
        attributes["knativeerrordata"] = base64.b64encode(printable).decode()[:ERROR_DATA_MAX]
    return CloudEvent(attributes, event.data)


def _sanitized(url: str) -> str:
    """Scheme, host, port and path only: credentials and query strings may carry secrets.

    Knative sanitizes ``knativeerrordest`` the same way.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
