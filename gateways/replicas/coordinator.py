"""The replica loop: keep this replica's member lease, and own the exclusive sources it is
preferred for.

Every retry period: renew the member lease; list the live members and the source leases;
for each exclusive source the reconciler wants, the preferred member (rendezvous hashing over
the live ones) acquires its lease once free or expired, then renews it. A replica that is no
longer preferred, or that could not renew within the renew deadline, stops the source first
and releases the lease after, so two replicas never run it at once as long as the lease
duration exceeds the renew deadline. The owner of a source removed from the registry deletes
its lease (the source stopped first), and a replica that leaves deletes its member lease, so
neither outlives what it stood for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from gateways.registry.kubeapi import KubeAPI, KubeAPIError, load_api_client
from gateways.replicas.hashing import preferred
from gateways.replicas.leases import (
    GROUP_LABEL,
    ROLE_LABEL,
    SOURCE_ANNOTATION,
    Lease,
    LeaseStore,
    dns_name,
    member_lease_name,
    source_lease_name,
)

log = logging.getLogger(__name__)
Key = tuple[str, str]  # (gateway, source name)
T = TypeVar("T")
Start = Callable[[Key], Awaitable[None]]
Stop = Callable[[Key, str], Awaitable[None]]


@dataclass(frozen=True)
class Timings:
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0


def source_key(key: Key) -> str:
    return f"{key[0]}/{key[1]}"


class Replicas:
    """One replica of a group. ``start(key)`` and ``stop(key, why)`` are the reconciler's:
    called when this replica gains or loses a source; ``on_holders()`` after every round."""

    def __init__(
        self,
        namespace: str,
        group: str,
        identity: str,
        timings: Timings = Timings(),
        *,
        api: KubeAPI | None = None,
    ) -> None:
        self.namespace = namespace
        self.group = dns_name(group)
        self.identity = identity
        self.timings = timings
        self.api = api
        self.start_source: Start | None = None
        self.stop_source: Stop | None = None
        self.on_holders: Callable[[], None] = lambda: None
        self.members: tuple[str, ...] = (identity,)
        self._store: LeaseStore | None = None
        self._wanted: set[Key] = set()
        self._owned: dict[Key, float] = {}  # key -> monotonic time of the last renewal
        self._holders: dict[Key, str] = {}
        self._member: Lease | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopped = False
        self._starting: set[asyncio.Future[None]] = set()

    # What the reconciler asks.
    def want(self, keys: Iterable[Key]) -> None:
        """The exclusive sources the registry has now; a round runs soon."""
        self._wanted = set(keys)
        self._wake.set()
        if self._wanted and self._task is None and not self._stopped:
            # Leases only once there is an exclusive source: the dispatcher and the functions
            # that run none never need them (nor the rights to them).
            self._task = asyncio.create_task(self._run())

    def owns(self, key: Key) -> bool:
        return key in self._owned

    def holder(self, key: Key) -> str:
        """Who runs ``key``: this replica, another one, or "" (nobody yet)."""
        return self.identity if key in self._owned else self._holders.get(key, "")

    # Lifecycle.
    async def _run(self) -> None:
        try:
            if self.api is None:
                client = await asyncio.to_thread(load_api_client)
                self.api = KubeAPI(client, request_timeout=self.timings.renew_deadline)
            self._store = LeaseStore(self.api, self.namespace, self.timings.lease_duration)
        except Exception as exc:  # the exclusive sources stay on standby
            log.error("replica %s: no access to Leases: %s", self.identity, exc)
            return
        await self._loop()

    async def stop(self) -> None:
        """Leave: no longer a member, every owned source stopped, then its lease released."""
        self._stopped = True
        self._wake.set()
        if self._task is not None:
            try:  # the round under way finishes (a source half started is worse)
                await asyncio.wait_for(asyncio.shield(self._task), self.timings.renew_deadline)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._task = None
        if self._starting:
            await asyncio.wait(set(self._starting))
        if self._store is None:
            return
        with contextlib.suppress(Exception):
            if self._member is not None:  # a replica that left is no member: its lease goes
                await self._call(self._store.delete, self._member)
        for key in list(self._owned):
            await self._give_up(key, "shutting down", release=True)

    async def _loop(self) -> None:
        while not self._stopped:
            self._wake.clear()
            try:
                await self._round()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("replica %s: lease round failed", self.identity)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.timings.retry_period):
                    await self._wake.wait()

    async def _round(self) -> None:
        store = self._store
        assert store is not None
        try:
            await self._renew_member(store)
            members = await self._call(store.list, "member", self.group)
            sources = await self._call(store.list, "source")
        except Exception as exc:
            log.warning("replica %s: leases not reachable: %s", self.identity, exc)
            await self._past_deadline()
            return
        now = datetime.now(UTC)
        live = {lease.holder for lease in members if lease.live(now)} | {self.identity}
        self.members = tuple(sorted(live))
        by_key = {lease.source_key: lease for lease in sources if lease.source_key}
        for key in sorted(self._wanted):
            await self._settle(store, key, by_key.get(source_key(key)), now)
        for key in [k for k in self._owned if k not in self._wanted]:  # removed from the registry
            lease = by_key.get(source_key(key))
            del self._owned[key]
            if lease is not None and lease.holder == self.identity:
                await self._delete(store, lease)  # the reconciler stopped the source already
        # A lease this replica still holds but no longer owns is being released.
        self._holders = {
            _key(lease.source_key): lease.holder
            for lease in sources
            if lease.live(now) and lease.holder != self.identity
        }
        await self._past_deadline()
        self.on_holders()

    async def _settle(
        self, store: LeaseStore, key: Key, lease: Lease | None, now: datetime
    ) -> None:
        wanted_by = preferred(source_key(key), self.members)
        if key in self._owned:
            if lease is None or lease.holder != self.identity:
                # Taken over (this replica was gone for longer than the lease): stop at once.
                await self._give_up(key, "its lease is held by another replica", release=False)
            elif wanted_by != self.identity:
                await self._give_up(key, f"handed over to replica {wanted_by}", release=True)
            else:
                with contextlib.suppress(Exception):
                    await self._call(store.hold, lease, self.identity)
                    self._owned[key] = time.monotonic()
            return
        if wanted_by != self.identity:
            return
        if lease is not None and lease.live(now) and lease.holder != self.identity:
            return  # its owner hands it over (or it expires)
        try:
            if lease is None:
                labels = {ROLE_LABEL: "source"}
                annotations = {SOURCE_ANNOTATION: source_key(key)}
                name = source_lease_name(source_key(key))
                await self._call(store.create, name, self.identity, labels, annotations)
            else:
                await self._call(store.hold, lease, self.identity)
        except Exception as exc:
            if not (isinstance(exc, KubeAPIError) and exc.status == 409):
                log.warning("replica %s: %s/%s not acquired: %s", self.identity, *key, exc)
            return  # another replica was quicker (409): the next round sees who
        self._owned[key] = time.monotonic()
        self._holders[key] = self.identity
        log.info("replica %s now owns %s/%s", self.identity, *key)
        if self.start_source is not None:
            # Not awaited here: a slow start must not delay renewing the other leases.
            task = asyncio.ensure_future(self.start_source(key))
            self._starting.add(task)
            task.add_done_callback(self._starting.discard)

    async def _renew_member(self, store: LeaseStore) -> None:
        if self._member is not None:
            try:
                self._member = await self._call(store.hold, self._member, self.identity)
                return
            except KubeAPIError as exc:
                if exc.status not in (404, 409):
                    raise
        name = member_lease_name(self.group, self.identity)
        try:
            self._member = await self._call(
                store.create,
                name,
                self.identity,
                {ROLE_LABEL: "member", GROUP_LABEL: self.group},
                {},
            )
        except KubeAPIError as exc:
            if exc.status != 409:
                raise
            current = await self._call(store.api.get, f"{store.path}/{name}")
            self._member = await self._call(store.hold, Lease.of(current), self.identity)

    async def _past_deadline(self) -> None:
        """Sources whose lease could not be renewed within the renew deadline stop."""
        limit = time.monotonic() - self.timings.renew_deadline
        for key in [k for k, renewed in self._owned.items() if renewed < limit]:
            await self._give_up(key, "its lease could not be renewed in time", release=False)

    async def _give_up(self, key: Key, why: str, *, release: bool) -> None:
        self._owned.pop(key, None)
        self._holders.pop(key, None)
        log.info("replica %s stops %s/%s: %s", self.identity, *key, why)
        if self.stop_source is not None:
            await self.stop_source(key, why)
        if release and self._store is not None:
            store = self._store
            with contextlib.suppress(Exception):
                name = f"{store.path}/{source_lease_name(source_key(key))}"
                lease = Lease.of(await self._call(store.api.get, name))
                if lease.holder == self.identity:
                    await self._release(store, lease)

    async def _release(self, store: LeaseStore, lease: Lease) -> None:
        try:
            await self._call(store.hold, lease, "")
        except Exception as exc:  # it expires instead
            log.warning("replica %s: lease %s not released: %s", self.identity, lease.name, exc)

    async def _delete(self, store: LeaseStore, lease: Lease) -> None:
        """The lease of a source removed from the registry goes, as of the version listed (a
        replica that took it over since keeps it); one that cannot go expires instead."""
        try:
            await self._call(store.delete, lease)
        except Exception as exc:
            if not (isinstance(exc, KubeAPIError) and exc.status in (404, 409)):
                log.warning("replica %s: lease %s not deleted: %s", self.identity, lease.name, exc)
            return
        log.info("replica %s deleted lease %s of %s", self.identity, lease.name, lease.source_key)

    async def _call(self, function: Callable[..., T], *args: Any) -> T:
        """A blocking Lease call on a worker thread, given up in time for a hung request not
        to keep this replica from stopping its sources by the renew deadline."""
        timings = self.timings
        limit = timings.renew_deadline - timings.retry_period  # a round ends within the deadline
        return await asyncio.wait_for(asyncio.to_thread(function, *args), limit)


def _key(text: str) -> Key:
    gateway, _, name = text.partition("/")
    return (gateway, name)
