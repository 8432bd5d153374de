"""Where each calendar source's last handled tick is kept, so restarts neither repeat nor lose one.

A store is used under a claim::

    async with store.claim(origin) as claimed:
        if claimed:
            last = await store.load(origin)
            ... emit each due tick, then await store.save(origin, tick) ...

The claim gives one process (or replica) the right to fire a source's ticks; ``save`` follows
a successful emit, so a crash in between repeats that tick (at least once), and the repeat
carries the same CloudEvent id. State never moves backwards.

- :class:`FileStateStore`: one JSON file on this machine (the embedded default).
- :class:`~functions.calendar.kube_state.ConfigMapStateStore`: an annotation on a ConfigMap,
  for replicas in a cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from gateways.errors import GatewayError
from gateways.source import Origin


class StateError(GatewayError):
    """The state could not be read or written."""


class StateStore(Protocol):
    async def load(self, origin: Origin) -> datetime | None:
        """The source's last handled tick, or None if it never ran."""

    async def save(self, origin: Origin, tick: datetime) -> None:
        """Record ``tick`` as handled (ignored if an equal or later tick already is)."""

    def claim(self, origin: Origin) -> AbstractAsyncContextManager[bool]:
        """Yield True with the exclusive right to fire ``origin``'s ticks, False if another
        process holds it now (it fires them; try again later)."""


def state_key(origin: Origin) -> str:
    return f"{origin.gateway}/{origin.source}"


def format_instant(moment: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``: the form of a tick's CloudEvent id and of stored state."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset")
    return moment.astimezone(UTC)


class FileStateStore:
    """One JSON object ``{"<gateway>/<source>": "<RFC 3339>"}`` in ``path`` for all sources.

    Writes replace the file atomically (temp file + ``os.replace``) under an ``flock`` on
    ``<path>.lock``; each claim is an ``flock`` on a per-source file in ``<path>.locks/``, so
    two processes on one machine never fire the same source at once.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    async def load(self, origin: Origin) -> datetime | None:
        text = (await asyncio.to_thread(self._read)).get(state_key(origin))
        return None if text is None else self._instant(text)

    async def save(self, origin: Origin, tick: datetime) -> None:
        await asyncio.to_thread(self._update, state_key(origin), tick)

    @contextlib.asynccontextmanager
    async def claim(self, origin: Origin) -> AsyncIterator[bool]:
        directory = self.path.with_name(self.path.name + ".locks")
        directory.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(state_key(origin).encode()).hexdigest()[:32]
        descriptor = os.open(directory / f"{digest}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(descriptor)  # closing releases the lock

    def _read(self) -> dict[str, str]:
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise StateError(f"{self.path}: cannot read: {exc.strerror}") from None
        try:
            document = json.loads(text) if text.strip() else {}
        except ValueError as exc:
            raise StateError(f"{self.path}: not valid JSON: {exc}") from None
        if not isinstance(document, dict) or not all(isinstance(v, str) for v in document.values()):
            raise StateError(f"{self.path}: expected an object of RFC 3339 strings")
        return document

    def _update(self, key: str, tick: datetime) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            state = self._read()
            previous = state.get(key)
            if previous is not None and self._instant(previous) >= tick:
                return
            state[key] = format_instant(tick)
            self._replace(json.dumps(state, indent=1, sort_keys=True) + "\n")

    def _replace(self, text: str) -> None:
        descriptor, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise

    def _instant(self, text: str) -> datetime:
        try:
            return parse_instant(text)
        except ValueError:
            raise StateError(f"{self.path}: {text!r} is not an RFC 3339 instant") from None
