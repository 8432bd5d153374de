"""Calendar state on a ConfigMap, shared by every replica in a cluster.

The annotation ``gateways.dev/calendar-state`` holds a JSON object keyed by
``<gateway>/<source>``; each value is ``{"last": <RFC 3339>}`` plus, while a replica fires
that source, its lease ``{"holder": <id>, "until": <RFC 3339>}``. Every change is a
read-modify-replace carrying the read ``resourceVersion``, so the API server refuses (409) a
write based on a stale read and the change is retried on a fresh one: two replicas never
both take a lease or move state backwards. A lease ends when its holder releases it, or
expires (``lease``) if the holder died; each save renews it, and so does a timer every third
of ``lease`` while the claim is held (an emit may take longer than the lease).

The lease is short (15 s, a Kubernetes Lease's default duration): a replica SIGKILLed in the
middle of a round blocks the source that long at most. Outside a round no lease is held, so
another replica fires the next tick at once.

By default the state lives on the gateway's own registry ConfigMap (``origin.gateway``); the
registry ignores annotations it does not know, so a save restarts nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

from functions.calendar.state import StateError, format_instant, parse_instant, state_key
from gateways.registry.kubeapi import KubeAPI, KubeAPIError, Object, load_api_client
from gateways.source import Origin

log = logging.getLogger(__name__)
ANNOTATION = "gateways.dev/calendar-state"
LEASE = timedelta(seconds=15)
State = dict[str, dict[str, str]]
Edit = Callable[[State], State | None]


def decode(text: str | None) -> State:
    """The annotation's state; a StateError names what is wrong with it."""
    if not text:
        return {}
    try:
        state = json.loads(text)
    except ValueError as exc:
        raise StateError(f"{ANNOTATION}: not valid JSON: {exc}") from None
    if not isinstance(state, dict) or not all(
        isinstance(entry, dict) and all(isinstance(v, str) for v in entry.values())
        for entry in state.values()
    ):
        raise StateError(f"{ANNOTATION}: expected an object of objects of strings")
    return state


def encode(state: State) -> str:
    return json.dumps(state, sort_keys=True, separators=(",", ":"))


def last_tick(state: State, key: str) -> datetime | None:
    text = state.get(key, {}).get("last")
    if text is None:
        return None
    try:
        return parse_instant(text)
    except ValueError:
        raise StateError(f"{ANNOTATION}: {key}: {text!r} is not an RFC 3339 instant") from None


def with_tick(state: State, key: str, tick: datetime, holder: str, until: datetime) -> State | None:
    """``state`` with ``tick`` as the last handled (renewing ``holder``'s lease), or None when
    an equal or later tick is already recorded."""
    previous = last_tick(state, key)
    if previous is not None and previous >= tick:
        return None
    entry = dict(state.get(key, {}), last=format_instant(tick))
    if entry.get("holder") == holder:
        entry["until"] = format_instant(until)
    return {**state, key: entry}


def with_lease(state: State, key: str, holder: str, now: datetime, until: datetime) -> State | None:
    """``state`` with ``holder`` leasing ``key`` until ``until``, or None while another
    holder's lease is live."""
    entry = state.get(key, {})
    other = entry.get("holder")
    if (
        other not in (None, holder)
        and parse_instant(entry.get("until", "1970-01-01T00:00:00Z")) > now
    ):
        return None
    return {**state, key: dict(entry, holder=holder, until=format_instant(until))}


def without_lease(state: State, key: str, holder: str) -> State | None:
    entry = state.get(key, {})
    if entry.get("holder") != holder:
        return None
    return {**state, key: {k: v for k, v in entry.items() if k not in ("holder", "until")}}


class ConfigMapStateStore:
    """``api`` is the core's :class:`~gateways.registry.kubeapi.KubeAPI`; its blocking calls
    run in threads."""

    def __init__(
        self,
        api: KubeAPI,
        namespace: str,
        configmap: str | None = None,
        *,
        holder: str | None = None,
        lease: timedelta = LEASE,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        attempts: int = 20,
    ) -> None:
        self.api = api
        self.namespace = namespace
        self.configmap = configmap
        self.holder = holder or f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:8]}"
        self.lease = lease
        self.clock = clock
        self.attempts = attempts

    @classmethod
    def connect(cls, namespace: str, configmap: str | None = None) -> ConfigMapStateStore:
        """A store with the registry's credentials: the pod's service account in a cluster,
        else ``$KUBECONFIG`` or ~/.kube/config (KubeCredentialsError when there are none)."""
        return cls(KubeAPI(load_api_client()), namespace, configmap)

    async def load(self, origin: Origin) -> datetime | None:
        document = await asyncio.to_thread(self._read, self._name(origin))
        return last_tick(decode(_annotations(document).get(ANNOTATION)), state_key(origin))

    async def save(self, origin: Origin, tick: datetime) -> None:
        until = self.clock() + self.lease
        key = state_key(origin)
        await self._change(origin, lambda state: with_tick(state, key, tick, self.holder, until))

    @contextlib.asynccontextmanager
    async def claim(self, origin: Origin) -> AsyncIterator[bool]:
        key = state_key(origin)
        if not await self._take(origin, key):
            yield False
            return
        renewing = asyncio.create_task(self._renew(origin, key), name=f"calendar lease {key}")
        try:
            yield True
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
            try:
                await self._change(origin, lambda state: without_lease(state, key, self.holder))
            except Exception as exc:  # the lease then simply expires
                log.warning("calendar: could not release the lease on %s: %s", key, exc)

    async def _take(self, origin: Origin, key: str) -> bool:
        """Take or renew ``holder``'s lease on ``key``; False while another holder's is live."""
        now = self.clock()
        return await self._change(
            origin, lambda state: with_lease(state, key, self.holder, now, now + self.lease)
        )

    async def _renew(self, origin: Origin, key: str) -> None:
        period = self.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(period)
            try:
                await self._take(origin, key)
            except StateError as exc:  # the next save or renewal tries again
                log.warning("calendar: could not renew the lease on %s: %s", key, exc)

    async def _change(self, origin: Origin, edit: Edit) -> bool:
        """Apply ``edit`` with compare-and-swap; False when it had nothing to change."""
        name = self._name(origin)
        for _ in range(self.attempts):
            document = await asyncio.to_thread(self._read, name)
            annotations = _annotations(document)
            changed = edit(decode(annotations.get(ANNOTATION)))
            if changed is None:
                return False
            annotations[ANNOTATION] = encode(changed)
            document.setdefault("metadata", {})["annotations"] = annotations
            if await asyncio.to_thread(self._replace, name, document):
                return True
        raise StateError(
            f"configmap {self.namespace}/{name}: still conflicting after {self.attempts} attempts"
        )

    def _read(self, name: str) -> Object:
        try:
            return self.api.get(self._path(name))
        except KubeAPIError as exc:
            raise StateError(f"configmap {self.namespace}/{name}: cannot read: {exc}") from None

    def _replace(self, name: str, document: Object) -> bool:
        """Write ``document`` unless it changed since it was read (its resourceVersion)."""
        try:
            self.api.put(self._path(name), document)
        except KubeAPIError as exc:
            if exc.status == 409:
                return False
            raise StateError(f"configmap {self.namespace}/{name}: cannot write: {exc}") from None
        return True

    def _name(self, origin: Origin) -> str:
        return self.configmap or origin.gateway

    def _path(self, name: str) -> str:
        return f"/api/v1/namespaces/{self.namespace}/configmaps/{name}"


def _annotations(document: Object) -> dict[str, str]:
    return dict((document.get("metadata") or {}).get("annotations") or {})
