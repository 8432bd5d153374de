"""List, then watch from the list's resourceVersion, on a thread of its own, for as long as asked.

A dropped or idle watch is opened again from the last resourceVersion seen, after a backoff when
it failed; a 410 Gone (etcd compacted that version) lists again. Subclasses say what to watch
and what to do with what arrives; their hooks run on the reflector's thread, and a hook that
raises (a delivery that failed, say) makes the same events come again after a backoff, because
the resourceVersion only moves past an event once its hook returned.

:meth:`Reflector.session` watches until a failure, for a caller that supervises it (a resource
source, through :class:`gateways.supervisor.Supervisor`); :meth:`Reflector.run` retries on its
own thread with the reflector's backoff (the registry's ConfigMap watches).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from gateways.config.common import Backoff
from gateways.registry.kubeapi import GoneError, KubeAPI, Object, WatchStream

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Target:
    """What to list and watch: a collection path and its server-side selectors."""

    path: str
    label_selector: str = ""
    field_selector: str = ""


class Reflector:
    """Subclasses implement ``target``, ``listed``, ``changed`` and ``report``."""

    def __init__(
        self,
        api: KubeAPI,
        name: str,
        *,
        backoff: Backoff | None = None,
        resource_version: str | None = None,
        prime: bool = False,
        timeout_seconds: int = 300,
        idle_seconds: float = 90.0,
    ) -> None:
        self.api = api
        self.name = name
        self.backoff = backoff or Backoff()
        # Where the next watch starts; None lists first. With ``prime`` the first list is of
        # exactly that version (the state a restarted watcher had when it stopped).
        self.resource_version = resource_version
        self.prime = prime and resource_version is not None
        self.timeout_seconds = timeout_seconds
        self.idle_seconds = idle_seconds
        self._stopping = threading.Event()
        self._stream: WatchStream | None = None
        self._thread: threading.Thread | None = None
        self._problem: str | None = "not started"

    # ------------------------------------------------------------------ hooks

    def target(self) -> Target:
        """What to watch; may raise (discovery failed) and is asked again after a backoff."""
        raise NotImplementedError

    def listed(self, objects: list[Object], resource_version: str, exact: bool) -> None:
        """Everything the list holds at ``resource_version`` (exact: the primed version)."""
        raise NotImplementedError

    def changed(self, event_type: str, obj: Object) -> None:
        """One ADDED, MODIFIED or DELETED event."""
        raise NotImplementedError

    def bookmarked(self, resource_version: str) -> None:
        """Every event up to ``resource_version`` has been seen (nothing matched after them)."""

    def report(self, problem: str | None) -> None:
        """Health changed: None once watching, else why not (called only on changes)."""

    def recover(self, exc: Exception) -> bool:
        """Adapt to ``exc`` (return True to retry at once, without a backoff)."""
        return False

    # ------------------------------------------------------------------ running

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name=f"watch {self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to end (from any thread); ``join`` waits for it."""
        self._stopping.set()
        stream = self._stream
        if stream is not None:
            stream.abort()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def session(self, connected: Callable[[], None]) -> None:
        """Watch until a failure (raised, for the caller to back off) or ``stop`` (returns).

        Blocks: run it on a thread of its own. A watch that ends is opened again at once from
        the last resourceVersion; a 410 Gone lists again; a failure ``recover`` adapts to is
        tried again at once. ``connected`` is called each time a watch opened.
        """
        while not self.stopping:
            try:
                self._cycle(connected)
            except GoneError:
                log.info(
                    "watch %s: resourceVersion %s expired; listing again",
                    self.name,
                    self.resource_version,
                )
                self.resource_version, self.prime = None, False
            except Exception as exc:  # the hooks decide what a failure means
                if self.stopping:
                    return
                if not self.recover(exc):
                    raise

    def run(self) -> None:
        """Sessions one after another on this thread, with the reflector's own backoff."""
        attempt = 0

        def connected() -> None:
            nonlocal attempt
            attempt = 0
            self._set_problem(None)

        while not self.stopping:
            try:
                self.session(connected)
            except Exception as exc:  # every failure is retried
                if self.stopping:
                    break
                self._set_problem(_describe(exc))
                delay = self.backoff.delay(attempt)
                attempt += 1
                log.warning("watch %s: %s; retrying in %.1fs", self.name, _describe(exc), delay)
                self._stopping.wait(delay)

    def _cycle(self, connected: Callable[[], None]) -> None:
        target = self.target()
        if self.resource_version is None or self.prime:
            exact = self.prime
            objects, version = self.api.list_objects(
                target.path,
                label_selector=target.label_selector,
                field_selector=target.field_selector,
                resource_version=self.resource_version if exact else None,
            )
            self.listed(objects, version, exact)
            self.resource_version, self.prime = version, False
        if self.stopping:
            return
        self._stream = self.api.watch(
            target.path,
            self.resource_version or "",
            label_selector=target.label_selector,
            field_selector=target.field_selector,
            timeout_seconds=self.timeout_seconds,
            idle_seconds=self.idle_seconds,
        )
        try:
            if self.stopping:  # stop() came while the request was being opened
                return
            connected()
            for event in self._stream:
                if self.stopping:
                    return
                obj = event.get("object") or {}
                version = str((obj.get("metadata") or {}).get("resourceVersion") or "")
                if event.get("type") == "BOOKMARK":
                    self.bookmarked(version)
                else:
                    self.changed(str(event.get("type")), obj)
                if version:
                    self.resource_version = version
        finally:
            self._stream = None

    def _set_problem(self, problem: str | None) -> None:
        if problem != self._problem:
            self._problem = problem
            self.report(problem)


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    # urllib3 wraps the cause in long reprs; the first line says enough.
    return text.splitlines()[0][:300]
