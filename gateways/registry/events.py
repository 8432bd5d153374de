"""Source status changes as Kubernetes Events on the gateway's ConfigMap (``kubectl describe``).

The reconciler calls ``record`` on the event loop for every status it sets; recording never
blocks it: Events wait in a bounded queue for one task that creates them, and when the API
server is too slow to keep up the newest are dropped (and counted), as Events are advisory.
A status that repeats one already recorded for that source makes no new Event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import uuid
from collections.abc import Callable

from gateways.registry.kubeapi import KubeAPI, Object
from gateways.registry.status import SourceStatus

log = logging.getLogger(__name__)
COMPONENT = "gateways"
REASONS = {
    "running": "SourceRunning",
    "rejected": "SourceRejected",
    "failed": "SourceFailed",
    "degraded": "SourceDegraded",
    "stopped": "SourceStopped",
}
_WARNING_STATES = frozenset({"rejected", "failed", "degraded"})
_MESSAGE_LIMIT = 1024


def event_message(status: SourceStatus) -> str:
    """The Event's message: the status reason, which for a rejection names the field."""
    label = f"{status.kind}/{status.name}"
    if status.state == "running":
        text = f"{label}: running" + (f" at {status.address}" if status.address else "")
    elif status.state == "stopped":
        text = f"{label}: stopped" + (f": {status.reason}" if status.reason else "")
    elif status.reason.startswith(label):
        text = status.reason
    else:
        text = f"{label}: {status.reason or status.state}"
    return text[:_MESSAGE_LIMIT]


def event_body(status: SourceStatus, involved: Object, instance: str) -> Object:
    """A core/v1 Event about ``involved`` (an ObjectReference of the ConfigMap)."""
    namespace = str(involved.get("namespace") or "default")
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{involved['name']}.{uuid.uuid4().hex[:16]}", "namespace": namespace},
        "involvedObject": {**involved, "fieldPath": f"data.{status.name}"},
        "reason": REASONS[status.state],
        "message": event_message(status),
        "type": "Warning" if status.state in _WARNING_STATES else "Normal",
        "count": 1,
        "firstTimestamp": status.since,
        "lastTimestamp": status.since,
        "source": {"component": COMPONENT, "host": instance},
        "reportingComponent": COMPONENT,
        "reportingInstance": instance,
    }


class EventRecorder:
    def __init__(
        self,
        api: KubeAPI,
        involved: Callable[[str], Object | None],
        capacity: int = 256,
    ) -> None:
        """``involved(gateway)`` is the ObjectReference of that gateway's ConfigMap, or None."""
        self.api = api
        self.involved = involved
        self.instance = socket.gethostname()
        self.dropped = 0
        self._queue: asyncio.Queue[Object] = asyncio.Queue(maxsize=capacity)
        self._recorded: dict[tuple[str, str], tuple[str, str]] = {}
        self._task: asyncio.Task[None] | None = None

    def record(self, status: SourceStatus) -> None:
        if status.state not in REASONS:
            return
        key = (status.gateway, status.name)
        seen = (status.state, event_message(status))
        if self._recorded.get(key) == seen:
            return
        involved = self.involved(status.gateway)
        if involved is None:
            return
        self._recorded[key] = seen
        try:
            self._queue.put_nowait(event_body(status, involved, self.instance))
        except asyncio.QueueFull:
            self.dropped += 1
            log.warning("events: queue full; dropped the Event for %s/%s", *key)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._create_all(), name="kubernetes events")

    async def stop(self, flush_seconds: float = 2.0) -> None:
        if self._task is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), flush_seconds)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _create_all(self) -> None:
        while True:
            body = await self._queue.get()
            path = f"/api/v1/namespaces/{body['metadata']['namespace']}/events"
            try:
                await asyncio.to_thread(self.api.post, path, body)
            except Exception as exc:  # an Event lost must not disturb the registry
                log.warning(
                    "events: cannot record %s for %s: %s",
                    body["reason"],
                    body["involvedObject"]["name"],
                    exc,
                )
            finally:
                self._queue.task_done()
