"""Where each source of a kind got to: one JSON file under the state directory, a key per source,
or (in a cluster, where replicas hand sources over) an annotation on the gateway's ConfigMap.

A kind keeps its own checkpoint type (what it needs to resume: a resourceVersion, a time) with
``to_json`` and a reader; this file holds them, and :func:`checkpoint_store` picks where a
process keeps them. Writes replace the file atomically; several
sources of one process share it through one lock. An unreadable file or entry is logged and
the source starts afresh.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, cast

from gateways.errors import GatewayError
from gateways.kinds import SourceContext

if TYPE_CHECKING:  # the Kubernetes client is imported only where ConfigMaps are used: ~25 MB
    from gateways.registry.kubeapi import KubeAPI, Object

log = logging.getLogger(__name__)


class Checkpoint(Protocol):
    def to_json(self) -> dict[str, Any]: ...


T = TypeVar("T", bound=Checkpoint)
T_co = TypeVar("T_co", covariant=True)


class CheckpointFile(Generic[T]):
    """``state_dir/file_name``; ``read`` turns an entry back into a checkpoint (raising
    KeyError, TypeError, ValueError or AttributeError when it cannot)."""

    def __init__(self, state_dir: Path, file_name: str, read: Callable[[Any], T]) -> None:
        self.path = Path(state_dir) / file_name
        self._read_one = read
        self._lock = threading.Lock()

    def load(self, key: str) -> T | None:
        with self._lock:
            data = self._read().get(key)
        if not isinstance(data, dict):
            return None
        try:
            return self._read_one(data)
        except (KeyError, TypeError, ValueError, AttributeError):
            log.warning("%s: checkpoint of %s unreadable; starting afresh", self.path, key)
            return None

    def save(self, key: str, checkpoint: T) -> None:
        with self._lock:
            data = self._read()
            data[key] = checkpoint.to_json()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}")
            temporary.write_text(json.dumps(data, indent=1, sort_keys=True))
            temporary.replace(self.path)

    def _read(self) -> dict[str, object]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("%s: unreadable (%s); sources start afresh", self.path, exc)
            return {}
        return data if isinstance(data, dict) else {}

    def flush(self, key: str | None = None) -> None:
        """Nothing to do: every save is written at once."""


class CheckpointStore(Protocol[T_co]):
    """What a kind keeps its checkpoints in: a :class:`CheckpointFile` on one machine, a
    :class:`ConfigMapCheckpoints` where replicas hand sources over."""

    def load(self, key: str) -> T_co | None: ...

    def save(self, key: str, checkpoint: Any) -> None: ...

    def flush(self, key: str | None = None) -> None: ...


class ConfigMapCheckpoints(Generic[T]):
    """Checkpoints on an annotation of each gateway's ConfigMap, where the next owner of a
    source (another replica) reads them.

    ``annotation`` (``gateways.dev/<kind>-checkpoints``) holds a JSON object keyed by
    ``<gateway>/<source>``, on the ConfigMap named ``<gateway>``. Every write is a
    read-modify-replace carrying the read ``resourceVersion``: a 409 (another source of the
    gateway wrote meanwhile) is retried on a fresh read, so no source's entry is lost.

    Saves are debounced: one is written at once when the key's last write is ``debounce``
    seconds old, else a timer writes the newest one then. ``flush`` writes what is pending
    now; a source calls it when it stops, so a handover loses nothing. A SIGKILL loses at
    most the last ``debounce`` seconds of saves (the next owner repeats those events). A
    failed write is logged and kept pending for the next save or flush. Thread-safe.
    """

    def __init__(
        self,
        api: KubeAPI,
        namespace: str,
        annotation: str,
        read: Callable[[Any], T],
        *,
        debounce: float = 1.0,
        attempts: int = 20,
    ) -> None:
        self.api = api
        self.namespace = namespace
        self.annotation = annotation
        self._read_one = read
        self.debounce = debounce
        self.attempts = attempts
        self._lock = threading.Lock()  # guards the three below
        self._pending: dict[str, Checkpoint] = {}
        self._written: dict[str, float] = {}  # key -> time.monotonic() of its last write
        self._timers: dict[str, threading.Timer] = {}
        self._writing = threading.Lock()  # one write at a time, in save order

    def load(self, key: str) -> T | None:
        """The checkpoint of ``key`` (None: none, or unreadable). Raises when the API server
        is out of reach for now: a source that started afresh instead would skip what
        happened while no replica ran it, so it fails its start and is started again."""
        from gateways.registry.kubeapi import KubeAPIError

        try:
            data = self._entries(self._get(_configmap_of(key))).get(key)
        except KubeAPIError as exc:
            if exc.retryable:
                raise
            log.warning("%s: cannot read %s (%s); starting afresh", self.annotation, key, exc)
            return None
        if not isinstance(data, dict):
            return None
        try:
            return self._read_one(data)
        except (KeyError, TypeError, ValueError, AttributeError):
            log.warning("%s: checkpoint of %s unreadable; starting afresh", self.annotation, key)
            return None

    def save(self, key: str, checkpoint: T) -> None:
        with self._lock:
            self._pending[key] = checkpoint
            wait = self._written.get(key, -math.inf) + self.debounce - time.monotonic()
            if wait > 0:
                if key not in self._timers:
                    timer = threading.Timer(wait, self.flush, (key,))
                    timer.daemon = True
                    self._timers[key] = timer
                    timer.start()
                return
        self.flush(key)

    def flush(self, key: str | None = None) -> None:
        """Write the pending checkpoint of ``key`` (of every key: None) now."""
        with self._writing:
            with self._lock:
                keys = [key] if key is not None else list(self._pending)
                taken = {k: self._pending.pop(k) for k in keys if k in self._pending}
                for k in keys:
                    timer = self._timers.pop(k, None)
                    if timer is not None:
                        timer.cancel()
            for k, checkpoint in taken.items():
                try:
                    self._write(k, checkpoint)
                except Exception as exc:  # kept pending; a timer thread must not die of it
                    log.warning("%s: cannot save the checkpoint of %s: %s", self.annotation, k, exc)
                    with self._lock:
                        self._pending.setdefault(k, checkpoint)
                    continue
                with self._lock:
                    self._written[k] = time.monotonic()

    def _write(self, key: str, checkpoint: Checkpoint) -> None:
        from gateways.registry.kubeapi import KubeAPIError

        name = _configmap_of(key)
        for _ in range(self.attempts):
            document = self._get(name)
            metadata = document.setdefault("metadata", {})
            entries = self._entries(document)
            entries[key] = checkpoint.to_json()
            annotations = dict(metadata.get("annotations") or {})
            annotations[self.annotation] = json.dumps(entries, sort_keys=True)
            metadata["annotations"] = annotations
            try:
                self.api.put(self._path(name), document)
            except KubeAPIError as exc:
                if exc.status == 409:  # written since it was read: again, on a fresh read
                    continue
                raise
            return
        raise CheckpointConflictError(
            f"configmap {self.namespace}/{name}: still conflicting after {self.attempts} attempts"
        )

    def _get(self, name: str) -> Object:
        return self.api.get(self._path(name))

    def _entries(self, document: Object) -> dict[str, Any]:
        text = ((document.get("metadata") or {}).get("annotations") or {}).get(self.annotation)
        if not text:
            return {}
        try:
            entries = json.loads(text)
        except ValueError:
            log.warning("%s: not valid JSON; its sources start afresh", self.annotation)
            return {}
        return entries if isinstance(entries, dict) else {}

    def _path(self, name: str) -> str:
        return f"/api/v1/namespaces/{self.namespace}/configmaps/{name}"


async def checkpoint_store(
    context: SourceContext, annotation: str, file_name: str, read: Callable[[Any], T]
) -> CheckpointStore[T]:
    """A kind's checkpoint store, one a process: the gateway ConfigMaps' ``annotation`` when
    the registry is ConfigMaps (replicas hand sources over there), else
    ``<state dir>/<file_name>``."""
    store = context.resources.get(annotation)
    if store is None:
        settings = context.settings
        if getattr(settings, "configmaps", ()):
            api = await shared_kube_api(context)
            store = ConfigMapCheckpoints(api, settings.namespace, annotation, read)
        else:
            store = CheckpointFile(settings.state_dir, file_name, read)
        store = context.resources.setdefault(annotation, store)
    return cast(CheckpointStore[T], store)


async def shared_kube_api(context: SourceContext) -> KubeAPI:
    """The process's one Kubernetes API client (``$KUBECONFIG`` or the pod's service account),
    made on first use and shared by its sources (``resources["kube-api"]``)."""
    from gateways.registry.kubeapi import KubeAPI, load_api_client

    api = context.resources.get("kube-api")
    if api is None:
        client = await asyncio.to_thread(load_api_client)  # KubeCredentialsError: a GatewayError
        api = context.resources.setdefault("kube-api", KubeAPI(client))
    assert isinstance(api, KubeAPI)
    return api


class CheckpointConflictError(GatewayError):
    """A ConfigMap kept changing under every attempt to write a checkpoint."""


def _configmap_of(key: str) -> str:
    """The ConfigMap of ``<gateway>/<source>``: the gateway's own."""
    return key.split("/", 1)[0]
