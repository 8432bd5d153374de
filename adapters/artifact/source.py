"""Artifact sources: MinIO bucket notifications (``listen_bucket_notification``) as CloudEvents.

The listen stream is supervised (:class:`gateways.supervisor.Supervisor`, with the config's
``backoff``). The minio client blocks, so each session reads the stream
(:class:`~adapters.artifact.client.ListenStream`) on a thread of its own; each record crosses to
the event loop and is emitted before the next is read, so a source has one delivery in flight
and records arrive in order.

MinIO neither acknowledges nor replays notifications, so a record whose delivery failed is held:
the session ends (the source is ``degraded`` with the reason), and the next one, after the
backoff, delivers the held records first and then reads on from the same listen stream, which
stays open meanwhile (MinIO drops what a listener that does not read cannot take). A broken or
ended stream is opened again after the backoff. Once the backoff's ``steps`` are used up, by
either, the source is ``failed``. Filters: MinIO applies ``events``, ``filter.prefix`` and
``filter.suffix``; they are checked again here.

Each new listen stream is reconciled (:mod:`adapters.artifact.reconcile`) once MinIO answered
it, or :data:`RECONCILE_AFTER` after the request went out: the bucket is listed and the objects
created since the checkpoint are delivered first; a notification of an object delivered that
way is then skipped. Every delivery moves the checkpoint on
(:mod:`adapters.artifact.checkpoints`: ``<state dir>/artifact-checkpoints.json``, or the gateway
ConfigMap's annotation when the registry is ConfigMaps), so what a killed adapter had not
delivered, or MinIO had not sent yet, is found by the next start's listing, on whichever
replica owns the source next. A stopping source writes its last checkpoint before it returns
(and so before its lease is released).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections import deque
from collections.abc import Callable

from minio import Minio

from adapters.artifact import reconcile
from adapters.artifact.checkpoints import checkpoint_store
from adapters.artifact.client import (
    ConnectionPool,
    ListenStream,
    build_client,
    http_pool,
    listing,
)
from adapters.artifact.config import ArtifactConfig
from adapters.artifact.message import raw_events
from gateways.kinds import SourceContext, SourceKind
from gateways.loopbridge import run_blocking
from gateways.source import Emit, Origin, RawEvent
from gateways.supervised import STOP_GRACE, SupervisedSource
from gateways.supervisor import Supervisor, describe

log = logging.getLogger(__name__)
JOIN_WITHIN = 1.0  # seconds a stopped session waits for its thread beyond a delivery
# Seconds a new stream waits for MinIO's answer before listing the bucket anyway: a release
# answers within its first keepalive (0.5 s); a build that holds back may not answer for long,
# though it keeps records for the stream from the moment the request arrived.
RECONCILE_AFTER = 1.0


class DeliveryFailed(Exception):
    """A record was not delivered; it is held for the next session."""


class ArtifactSource(SupervisedSource[ArtifactConfig]):
    kind = "artifact"

    def __init__(
        self,
        origin: Origin,
        config: ArtifactConfig,
        context: SourceContext,
        *,
        stop_grace: float = STOP_GRACE,
    ) -> None:
        super().__init__(origin, config, context, stop_grace=stop_grace)
        scheme = "http" if config.insecure else "https"
        self.address = f"{scheme}://{config.endpoint}/{config.bucket}"
        self._client: Minio | None = None
        self._pool: ConnectionPool | None = None
        self._stopping = threading.Event()  # read by the listen thread
        # Between sessions, the open stream and the records not delivered yet (oldest first).
        self._stream: ListenStream | None = None
        self._held: deque[RawEvent] = deque()
        self._pending: concurrent.futures.Future[None] | None = None
        self._progress: reconcile.Progress | None = None  # None: no reconciling
        self._listed: set[str] = set()  # ids the stream's reconciliation delivered

    @property
    def where(self) -> str:
        return self.config.endpoint

    async def prepare(self) -> None:
        self._pool = http_pool(self.config)
        self._client = build_client(self.config, self._pool)  # a missing secret fails here
        if reconcile.wanted(self.config):
            checkpoints, recent = await checkpoint_store(self.context)
            name = f"{self.origin.gateway}/{self.origin.source}"
            self._progress = await asyncio.to_thread(
                reconcile.Progress, checkpoints, name, self.config, recent_limit=recent
            )

    async def wind_down(self, supervisor: Supervisor) -> None:
        self._stopping.set()
        await supervisor.stop()
        stream, self._stream = self._stream, None
        if stream is not None:  # kept open for a session that will not come
            stream.close()
        if self._pool is not None:
            self._pool.clear()
        if self._progress is not None:  # the next owner goes on from here
            await asyncio.to_thread(self._progress.flush)

    async def session(self, connected: Callable[[], None]) -> str | None:
        """Read the stream on a thread until it ends (returns) or fails (raises)."""
        loop = asyncio.get_running_loop()
        return await run_blocking(
            self.label, lambda ready: self._listen(loop, ready), connected, self._interrupt
        )

    async def _interrupt(self, ended: asyncio.Future[str | None]) -> None:
        """End the session's thread: a delivery in flight gets ``stop_grace`` to finish."""
        assert self._pool is not None
        self._stopping.set()
        self._pool.shut()  # ends a read (or a request MinIO has not answered yet)
        await asyncio.wait({ended}, timeout=self.stop_grace if self._pending else JOIN_WITHIN)
        if not ended.done():  # still delivering after the grace, or a connection opened since
            pending = self._pending
            if pending is not None:
                pending.cancel()
            self._pool.shut()

    # ------------------------------------------------------------------ the session's thread

    def _listen(self, loop: asyncio.AbstractEventLoop, connected: Callable[[], None]) -> str:
        """Deliver what is held, then read on; a failed delivery keeps the stream open."""
        config, client = self.config, self._client
        assert client is not None
        if self._stream is None:
            if not client.bucket_exists(config.bucket):
                raise LookupError(f"bucket {config.bucket!r} does not exist")
            self._stream = ListenStream(client, config, self._stopping, self.label)
            self._listed.clear()
        stream = self._stream
        try:
            self._deliver_held(loop)
            connected()
            stream.send()
            if not stream.reconciled:
                stream.answered(RECONCILE_AFTER)  # a build that holds its answer back: go on
                self._reconcile(client)
                stream.reconciled = True
            self._deliver_held(loop)
            for notification in stream.notifications():
                if self._stopping.is_set():
                    break
                self._held.extend(
                    raw for raw in raw_events(notification, config) if not self._was_listed(raw)
                )
                self._deliver_held(loop)
        except DeliveryFailed:
            raise
        except BaseException:
            self._stream = None
            stream.close()
            if self._pool is not None:
                self._pool.shut()  # a request still awaiting MinIO's answer gives up
            raise
        self._stream = None
        stream.close()
        return "the listen stream ended"

    def _reconcile(self, client: Minio) -> None:
        """List the bucket; hold what the checkpoint says was missed (the first time: nothing)."""
        progress = self._progress
        if progress is None or self._stopping.is_set():
            return
        listed = listing(client, self.config)
        if progress.fresh:
            progress.begin(listed)
            return
        missed = progress.missed(listed)
        if missed:
            log.info("%s: %d objects created while not listening", self.label, len(missed))
        self._listed.update(raw.id for raw in missed if raw.id)
        self._held.extend(missed)

    def _was_listed(self, raw: RawEvent) -> bool:
        """A notification of an object this stream's reconciliation delivered already."""
        created = (raw.action or "").startswith("objectcreated.")
        return created and raw.id is not None and raw.id in self._listed

    def _deliver_held(self, loop: asyncio.AbstractEventLoop) -> None:
        """Emit the held records in order, each on the event loop, waiting for it."""
        while self._held and not self._stopping.is_set():
            raw = self._held[0]
            self._pending = asyncio.run_coroutine_threadsafe(_emitting(self.emit, raw), loop)
            try:
                self._pending.result()
            except concurrent.futures.CancelledError:
                return  # stop cancelled it after the grace
            except Exception as exc:
                raise DeliveryFailed(
                    f"delivery of {raw.id or raw.subject} failed: {describe(exc)}"
                ) from exc
            finally:
                self._pending = None
            self._held.popleft()
            if self._progress is not None:
                self._progress.delivered(raw)


async def _emitting(emit: Emit, raw: RawEvent) -> None:
    await emit(raw)  # run_coroutine_threadsafe wants a coroutine; emit is any awaitable


KIND = SourceKind(name="artifact", config=ArtifactConfig, create=ArtifactSource, exclusive=True)
