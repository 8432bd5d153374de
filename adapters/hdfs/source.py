"""The HDFS source: the directory listed over WebHDFS every ``checkInterval``, each change
(see :mod:`adapters.hdfs.listing`) that matches ``type`` and ``path``/``pathRegexp`` emitted.

The last listing is kept under the state directory (``GATEWAYS_STATE_DIR``/hdfs-listings), and
moves on only for the names whose changes were delivered, so delivery is at least once: a
change whose delivery failed is found again at the next listing, and the listing a restarted
adapter compares with is the one of the last delivered changes, so what changed while it was
down (created, written, removed, renamed files) is emitted; states in between two listings
are not. With no kept listing (first start, or another directory) the first listing is the
baseline: files already there make no events.

A delivery that fails ends the session: the source is "degraded" and lists again after the
source's ``backoff``. An unreachable NameNode or a missing directory is retried the same way.
The blocking WebHDFS client runs on worker threads (``asyncio.to_thread``); at most
``GATEWAYS_MAX_IN_FLIGHT`` events are being emitted at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from hdfs import InsecureClient

from adapters.hdfs import client as hdfs_client
from adapters.hdfs.config import HDFSConfig
from adapters.hdfs.listing import Change, Listing, ListingStore, changes, settle
from adapters.hdfs.message import raw_event
from gateways.inflight import InFlight
from gateways.kinds import SourceContext, SourceKind
from gateways.source import Origin
from gateways.supervised import SupervisedSource

log = logging.getLogger(__name__)


class HDFSSource(SupervisedSource[HDFSConfig]):
    kind = "hdfs"

    def __init__(self, origin: Origin, config: HDFSConfig, context: SourceContext) -> None:
        super().__init__(origin, config, context)
        self.address = f"{', '.join(config.webhdfs_urls)} {config.directory}"
        self._pool = InFlight(context.max_in_flight, self.label)
        self._store = ListingStore(context.settings.state_dir, origin.gateway, origin.source)
        self._client: InsecureClient | None = None

    @property
    def where(self) -> str:
        return ", ".join(self.config.webhdfs_urls)

    def describe(self, exc: BaseException) -> str:
        return hdfs_client.describe(exc)

    async def prepare(self) -> None:
        self._client = hdfs_client.connect(self.config)

    async def session(self, connected: Callable[[], None]) -> str | None:
        """List, compare with the kept listing, emit; again every checkInterval."""
        target = self.config.directory
        try:
            listing = await self._list()
            before = await asyncio.to_thread(self._store.load, target)
            if before is None:
                before = listing
                await asyncio.to_thread(self._store.save, target, listing)
            connected()
            interval = self.config.check_interval.total_seconds()
            while True:
                found = changes(before, listing)
                if found:
                    undelivered, reason = await self._deliver(found)
                    before = settle(before, listing, undelivered)
                    await asyncio.to_thread(self._store.save, target, before)
                    if undelivered:
                        return f"{len(undelivered)} change(s) not delivered: {reason}"
                await asyncio.sleep(interval)
                listing = await self._list()
        finally:
            await self._pool.drain()

    async def _list(self) -> Listing:
        assert self._client is not None
        return await asyncio.to_thread(
            hdfs_client.list_directory, self._client, self.config.directory
        )

    def _wanted(self, change: Change) -> bool:
        if change.operation not in self.config.types:
            return False
        return any(self.config.matches(name) for name in change.names)

    async def _deliver(self, found: list[Change]) -> tuple[list[Change], str]:
        """Emit the wanted changes (at most the pool's limit at once); returns the ones not
        delivered and the first reason."""
        loop = asyncio.get_running_loop()
        undelivered: list[Change] = []
        reasons: list[str] = []
        waiting: list[asyncio.Future[None]] = []

        async def handle(change: Change, done: asyncio.Future[None]) -> None:
            try:
                await self.emit(raw_event(self.config.directory, change))
            except Exception as exc:
                undelivered.append(change)
                reasons.append(str(exc) or type(exc).__name__)
            except BaseException:
                undelivered.append(change)
                raise
            finally:
                if not done.done():
                    done.set_result(None)

        for change in found:
            if self._wanted(change):
                done: asyncio.Future[None] = loop.create_future()
                waiting.append(done)
                await self._pool.submit(handle(change, done))
        if waiting:
            await asyncio.gather(*waiting)
        if undelivered:
            log.warning(
                "%s: %d of %d change(s) not delivered: %s",
                self.label,
                len(undelivered),
                len(waiting),
                reasons[0],
            )
        return undelivered, reasons[0] if reasons else ""


KIND = SourceKind(name="hdfs", config=HDFSConfig, create=HDFSSource, exclusive=True)
