"""Artifact sources: MinIO bucket notifications (``listen_bucket_notification``) as CloudEvents.

The minio client's listen iterator blocks, so it runs on a thread of its own; each record
crosses to the event loop and is emitted before the next is read, so a source has one delivery
in flight. MinIO neither acknowledges nor replays notifications: a record whose delivery fails
is retried with the config's backoff until delivered or the source stops (meanwhile MinIO drops
what a slow listener cannot take). A broken stream reconnects with the same backoff; once its
``steps`` are used up the source is marked failed. Filters: MinIO applies ``events``,
``filter.prefix`` and ``filter.suffix``; they are checked again here.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
from typing import Any

from adapters.artifact.client import build_client
from adapters.artifact.message import raw_events
from gateways.config.artifact import ArtifactConfig
from gateways.kinds import SourceContext
from gateways.source import Emit, Origin, RawEvent

log = logging.getLogger(__name__)
STOP_GRACE = 5.0  # seconds an in-flight delivery gets to finish on stop


class ArtifactSource:
    def __init__(
        self,
        origin: Origin,
        config: ArtifactConfig,
        context: SourceContext,
        *,
        stop_grace: float = STOP_GRACE,
    ) -> None:
        self.origin = origin
        self.config = config
        self.context = context
        self.stop_grace = stop_grace
        scheme = "http" if config.insecure else "https"
        self.address = f"{scheme}://{config.endpoint}/{config.bucket}"
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._emit: Emit | None = None
        self._events: Any = None  # the open listen iterator
        self._pending: concurrent.futures.Future[None] | None = None
        self._state = ""

    async def start(self, emit: Emit) -> None:
        self._loop = asyncio.get_running_loop()
        self._emit = emit
        client = build_client(self.config)  # resolves the secrets: a missing one fails here
        self._thread = threading.Thread(
            target=self._listen, args=(client,), name=f"artifact {self.origin.source}", daemon=True
        )
        self._thread.start()

    async def stop(self) -> None:
        self._stopping.set()
        events = self._events
        # minio keeps the open response private; shutting its socket is what ends a blocked read.
        response = getattr(events, "_response", None)
        if response is not None:
            with contextlib.suppress(Exception):
                response.shutdown()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, self.stop_grace)
            if self._thread.is_alive() and self._pending is not None:
                self._pending.cancel()
                await asyncio.to_thread(self._thread.join, self.stop_grace)
            self._thread = None

    # ------------------------------------------------------------------ the listen thread

    def _listen(self, client: Any) -> None:
        config = self.config
        attempt = 0
        while not self._stopping.is_set():
            try:
                if not client.bucket_exists(config.bucket):
                    raise LookupError(f"bucket {config.bucket!r} does not exist")
                self._report("running", "")
                attempt = 0
                self._events = client.listen_bucket_notification(
                    config.bucket, prefix=config.prefix, suffix=config.suffix, events=config.events
                )
                with self._events as events:
                    for notification in events:
                        if self._stopping.is_set():
                            return
                        for raw in raw_events(notification, config):
                            self._deliver(raw)
            except Exception as exc:  # the stream broke: reconnect after a backoff
                if self._stopping.is_set():
                    return
                if config.backoff.exhausted(attempt):
                    self._report("failed", f"gave up after {attempt} attempts: {_describe(exc)}")
                    return
                delay = config.backoff.delay(attempt)
                attempt += 1
                log.warning(
                    "artifact %s: %s; reconnecting in %.1fs",
                    self.origin.source,
                    _describe(exc),
                    delay,
                )
                self._report("degraded", f"{config.endpoint}: {_describe(exc)}")
                self._stopping.wait(delay)
            finally:
                self._events = None

    def _deliver(self, raw: RawEvent) -> None:
        """Emit on the event loop and wait; retry with the backoff until delivered or stopping."""
        assert self._loop is not None and self._emit is not None
        attempt = 0
        while not self._stopping.is_set():
            self._pending = asyncio.run_coroutine_threadsafe(_emitting(self._emit, raw), self._loop)
            try:
                self._pending.result()
            except concurrent.futures.CancelledError:
                return
            except Exception as exc:
                delay = self.config.backoff.delay(attempt)
                attempt += 1
                self._report(
                    "degraded", f"delivery of {raw.id or raw.subject} failed: {_describe(exc)}"
                )
                self._stopping.wait(delay)
                continue
            finally:
                self._pending = None
            if attempt:
                self._report("running", "")
            return

    def _report(self, state: str, reason: str) -> None:
        loop = self._loop
        if (state, reason) == (self._state, "") or loop is None or loop.is_closed():
            return
        self._state = state
        loop.call_soon_threadsafe(self.context.on_status, self.origin, state, reason)


async def _emitting(emit: Emit, raw: RawEvent) -> None:
    await emit(raw)  # run_coroutine_threadsafe wants a coroutine; emit is any awaitable


def _describe(exc: BaseException) -> str:
    return (str(exc) or type(exc).__name__).splitlines()[0][:300]


class _ArtifactKind:
    name = "artifact"

    def create(self, origin: Origin, config: Any, context: SourceContext) -> ArtifactSource:
        return ArtifactSource(origin, config, context)


KIND = _ArtifactKind()
