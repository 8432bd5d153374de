"""Invoke the dispatcher function over HTTP (a Knative Service, or OpenFaaS /function/dispatcher).

Each source's events are batched into the dispatcher's request ``{gateway, source, kind,
events: [...]}``: at most ``batch_size`` a batch; while a request of the source is in flight,
a batch waits at most ``linger`` to fill, otherwise it goes at once. At most ``max_requests``
requests are in flight. Failed requests are retried by the one HTTP retry policy
(:mod:`gateways.retry`, the same rules as delivery to watchers), resending only the events the
dispatcher did not answer ok for. An event counts as delivered only when the dispatcher said
so; once the retries are spent, its ``emit`` raises, so the broker message is not acknowledged.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import aiohttp

from gateways.adapter import metrics
from gateways.config.common import Backoff
from gateways.dispatch import Dispatcher
from gateways.errors import GatewayError
from gateways.registry.model import Gateway
from gateways.retry import RetryPolicy, retry_after_seconds
from gateways.source import Emit, Origin, RawEvent

log = logging.getLogger(__name__)
MAX_RETRY_AFTER = 30.0
DEFAULT_BACKOFF = Backoff(timedelta(seconds=0.2), 2.0, 0.2, 0, timedelta(seconds=5))


_Item = tuple[bytes, "asyncio.Future[None]"]  # one encoded event and who waits for it


class DispatchError(GatewayError):
    """The dispatcher did not take an event; it stays with the broker for redelivery."""

    def __init__(self, url: str, problem: str) -> None:
        self.url = url
        self.problem = problem
        super().__init__(f"dispatcher {url}: {problem}")


class EventTooLargeError(DispatchError):
    """An event larger than any request the dispatcher takes, with no direct way to deliver."""


@dataclass
class _Batch:
    origin: Origin
    items: list[tuple[RawEvent, asyncio.Future[None]]] = field(default_factory=list)
    timer: asyncio.TimerHandle | None = None


@dataclass(frozen=True, slots=True)
class _Answer:
    """Per event: accepted or not; ``problem``/``retryable`` say why not; ``wait``: Retry-After."""

    accepted: tuple[bool, ...]
    problem: str = ""
    status: int | None = None  # None: no answer (connection error, timeout)
    retry_after: float | None = None
    done: bool = False  # every event settled: nothing left to resend


class DispatcherInvoker:
    """The sink of a deployed adapter: raw events to the dispatcher function over HTTP."""

    def __init__(
        self,
        url: str,
        *,
        batch_size: int = 64,
        linger: float = 0.002,
        max_requests: int = 16,
        timeout: float = 30.0,
        retries: int = 5,
        backoff: Backoff = DEFAULT_BACKOFF,
        max_request_bytes: int = 10 << 20,
        direct: Dispatcher | None = None,
    ) -> None:
        self.url = url
        self.max_request_bytes = max_request_bytes
        # Delivers, from this process, an event too large for any request to the dispatcher.
        self.direct = direct
        self.batch_size = batch_size
        self.linger = linger
        self.timeout = timeout
        self.policy = RetryPolicy(retries, lambda retry: backoff.delay(retry - 1), MAX_RETRY_AFTER)
        self._window = asyncio.Semaphore(max_requests)
        self._max_requests = max_requests
        self._batches: dict[Origin, _Batch] = {}
        self._sends: set[asyncio.Task[None]] = set()
        self._active: dict[Origin, int] = {}  # requests in flight, per source
        self._session: aiohttp.ClientSession | None = None

    async def configure(self, gateway: Gateway) -> str:
        """Watchers and delivery are the dispatcher function's: it reads the same registry.

        The direct path for oversized events learns them too, when the gateway names any.
        """
        if self.direct is not None:
            await self.direct.configure(gateway)
        return ""

    async def forget(self, gateway: str) -> None:
        if self.direct is not None:
            await self.direct.forget(gateway)

    def emitter(self, origin: Origin) -> Emit:
        async def emit(raw: RawEvent) -> None:
            await self.submit(origin, raw)

        return emit

    async def submit(self, origin: Origin, raw: RawEvent) -> None:
        """Returns once the dispatcher answered ok for ``raw``; raises DispatchError otherwise."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        batch = self._batches.get(origin)
        if batch is None:
            batch = self._batches[origin] = _Batch(origin)
            # Idle: send at the next turn of the loop (what arrives meanwhile rides along).
            # Busy: wait a little for a fuller batch, as the dispatcher is answering anyway.
            linger = self.linger if self._active.get(origin) else 0.0
            batch.timer = asyncio.get_running_loop().call_later(linger, self._flush, origin)
        batch.items.append((raw, done))
        if len(batch.items) >= self.batch_size:
            self._flush(origin)
        await done

    async def close(self) -> None:
        for origin in list(self._batches):
            self._flush(origin)
        if self._sends:
            await asyncio.wait(set(self._sends), timeout=self.timeout)
        for task in list(self._sends):
            task.cancel()
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self.direct is not None:
            await self.direct.close()

    def _flush(self, origin: Origin) -> None:
        batch = self._batches.pop(origin, None)
        if batch is None:
            return
        if batch.timer is not None:
            batch.timer.cancel()
        for request in self._requests(origin, batch.items):
            task = asyncio.get_running_loop().create_task(request)
            self._sends.add(task)
            task.add_done_callback(self._sends.discard)

    def _requests(
        self, origin: Origin, items: list[tuple[RawEvent, asyncio.Future[None]]]
    ) -> list[Coroutine[Any, Any, None]]:
        """The batch as requests of at most ``max_request_bytes`` each, and oversized events."""
        room = self.max_request_bytes - len(_envelope(origin, [])) - 16
        requests: list[Coroutine[Any, Any, None]] = []
        group: list[_Item] = []
        size = 0
        for raw, done in items:
            part = json.dumps(raw.to_wire()).encode()
            if len(part) > room:
                requests.append(self._oversized(origin, raw, done, len(part)))
                continue
            if group and size + len(part) + 1 > room:
                requests.append(self._send(origin, group))
                group, size = [], 0
            group.append((part, done))
            size += len(part) + 1
        if group:
            requests.append(self._send(origin, group))
        return requests

    async def _oversized(
        self, origin: Origin, raw: RawEvent, done: asyncio.Future[None], size: int
    ) -> None:
        """An event no request to the dispatcher can carry: delivered from here with the
        gateway's own watchers and delivery spec (dead-letter sink included), or failed with
        the reason."""
        limit = f"{size:,} bytes, over GATEWAYS_MAX_REQUEST_BYTES ({self.max_request_bytes:,})"
        try:
            if self.direct is None:
                raise EventTooLargeError(self.url, f"event of {limit}")
            try:
                self.direct.deliverer(origin.gateway)
            except LookupError:
                raise EventTooLargeError(
                    self.url,
                    f"event of {limit}, and configmap/{origin.gateway} names no watchers this"
                    " adapter can deliver to directly",
                ) from None
            log.warning(
                "%s/%s: event of %s; delivering it directly", origin.kind, origin.source, limit
            )
            await self.direct.emitter(origin)(raw)
        except Exception as exc:
            if not done.done():
                done.set_exception(exc)
        else:
            if not done.done():
                done.set_result(None)

    async def _send(self, origin: Origin, items: list[_Item]) -> None:
        pending = items

        async def attempt() -> _Answer:
            nonlocal pending
            async with self._window:
                answer = await self._post(origin, [part for part, _ in pending])
            pending = [
                item
                for item, ok in zip(pending, answer.accepted, strict=True)
                if not _settle(item[1], ok)
            ]
            return replace(answer, done=not pending)

        def retrying(answer: _Answer, retry: int, wait: float) -> None:
            metrics.EVENTS_RETRIED.labels(*metrics.labels(origin)).inc(len(pending))
            log.info(
                "dispatcher %s: %s; retrying %d event(s) in %.2fs",
                self.url,
                answer.problem,
                len(pending),
                wait,
            )

        self._active[origin] = self._active.get(origin, 0) + 1
        try:
            answer, _ = await self.policy.run(attempt, retrying)
            if pending:
                _fail(pending, DispatchError(self.url, answer.problem))
        except BaseException as exc:
            _fail(pending, DispatchError(self.url, f"not sent: {type(exc).__name__}"))
            raise
        finally:
            self._active[origin] -= 1
            if not self._active[origin]:
                del self._active[origin]

    async def _post(self, origin: Origin, parts: Sequence[bytes]) -> _Answer:
        body = _envelope(origin, parts)
        none = (False,) * len(parts)
        try:
            async with self._client().post(
                self.url,
                data=body,
                headers={"content-type": "application/json"},
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                allow_redirects=False,
            ) as response:
                text = await response.read()
                status = response.status
                retry_after = retry_after_seconds(status, response.headers.get("Retry-After"))
        except TimeoutError:
            return _Answer(none, f"timed out after {self.timeout:g}s")
        except aiohttp.ClientError as exc:
            return _Answer(none, f"{type(exc).__name__}: {exc}")
        if 200 <= status < 300:
            return _Answer((True,) * len(parts), status=status)
        problem = f"HTTP {status}: {_error_text(text)}"
        return _Answer(_results(text, len(parts)) or none, problem, status, retry_after)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self._max_requests, keepalive_timeout=30.0)
            self._session = aiohttp.ClientSession(connector=connector)
        return self._session


def _envelope(origin: Origin, parts: Sequence[bytes]) -> bytes:
    """The dispatcher request ``{gateway, source, kind, events: [...]}`` around encoded events."""
    head = json.dumps({"gateway": origin.gateway, "source": origin.source, "kind": origin.kind})
    return head[:-1].encode() + b', "events": [' + b", ".join(parts) + b"]}"


def _settle(done: asyncio.Future[None], ok: bool) -> bool:
    """Resolve an accepted event's future; True when nothing more is owed to it."""
    if done.done():
        return True  # its emit was cancelled: nobody waits for it any more
    if ok:
        done.set_result(None)
    return ok


def _fail(items: Sequence[_Item], error: DispatchError) -> None:
    for _, done in items:
        if not done.done():
            done.set_exception(error)


def _results(text: bytes, count: int) -> tuple[bool, ...] | None:
    """The per-event outcomes of a 503 answer, in request order, when it has them."""
    try:
        results = json.loads(text).get("results")
    except (ValueError, AttributeError):
        return None
    if not isinstance(results, list) or len(results) != count:
        return None
    return tuple(isinstance(r, dict) and r.get("ok") is True for r in results)


def _error_text(text: bytes) -> str:
    try:
        document: Any = json.loads(text)
    except ValueError:
        return text[:200].decode("utf-8", "replace").strip() or "no details"
    if isinstance(document, dict) and isinstance(document.get("error"), str):
        return str(document["error"])
    if isinstance(document, dict) and isinstance(document.get("results"), list):
        errors = {
            r.get("error") for r in document["results"] if isinstance(r, dict) and r.get("error")
        }
        return "; ".join(sorted(str(e) for e in errors))[:500] or "not delivered"
    return text[:200].decode("utf-8", "replace")
