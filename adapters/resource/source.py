"""Resource sources: a Kubernetes watch of any group/version/kind (or resource) as CloudEvents.

Credentials: the pod's service account in a cluster, else ``$KUBECONFIG`` or ~/.kube/config;
one API client serves every resource source of the process. The watch is supervised
(:class:`gateways.supervisor.Supervisor`): each session lists and watches on a thread of its own
(the official client blocks) until the API server fails it or a delivery fails, and the next
session, after the backoff, goes on from the last checkpoint. Each change is handed to the
event loop and emitted before the next is looked at, so a source has one delivery in flight
and changes arrive in order. See :mod:`adapters.resource.client` for restarts and
:mod:`adapters.resource.message` for the CloudEvent attributes.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Callable

from adapters.resource.checkpoints import checkpoint_store
from adapters.resource.client import ResourceWatch
from adapters.resource.config import ResourceConfig
from gateways.checkpoints import shared_kube_api
from gateways.config.common import Backoff
from gateways.kinds import SourceContext, SourceKind
from gateways.loopbridge import run_blocking
from gateways.source import Emit, Origin, RawEvent
from gateways.supervised import STOP_GRACE, SupervisedSource
from gateways.supervisor import Supervisor

log = logging.getLogger(__name__)
JOIN_WITHIN = 1.0  # seconds a stopped session waits for its thread beyond a delivery


class ResourceSource(SupervisedSource[ResourceConfig]):
    kind = "resource"

    def __init__(
        self,
        origin: Origin,
        config: ResourceConfig,
        context: SourceContext,
        *,
        backoff: Backoff | None = None,
        stop_grace: float = STOP_GRACE,
    ) -> None:
        super().__init__(origin, config, context, stop_grace=stop_grace)
        self._backoff = backoff or Backoff()
        where = f"namespace {config.namespace}" if config.namespace else "all namespaces"
        self.address = f"{config.api_version} {config.resource_kind or config.resource} in {where}"
        self._watch: ResourceWatch | None = None
        self._pending: concurrent.futures.Future[None] | None = None

    @property
    def backoff(self) -> Backoff:
        return self._backoff  # the seed-era resource config has no backoff of its own

    async def prepare(self) -> None:
        loop = asyncio.get_running_loop()
        api = await shared_kube_api(self.context)
        state_dir = self.context.settings.state_dir
        emit = self.emit

        settings = self.context.settings

        def deliver(raw: RawEvent) -> None:  # on the session's thread
            self._pending = asyncio.run_coroutine_threadsafe(_emitting(emit, raw), loop)
            try:
                self._pending.result()
            finally:
                self._pending = None

        self._watch = ResourceWatch(
            api,
            self.config,
            name=f"{self.origin.gateway}/{self.origin.source}",
            checkpoints=self.context.resource(
                "resource-checkpoints", lambda: checkpoint_store(settings, api)
            ),
            deliver=deliver,
            discovery_dir=state_dir,
        )

    async def wind_down(self, supervisor: Supervisor) -> None:
        """The session ends, then its last checkpoint is written: the next owner of the
        source (another replica, on handover) goes on from there."""
        await super().wind_down(supervisor)
        if self._watch is not None:
            await asyncio.to_thread(self._watch.checkpoints.flush, self._watch.name)

    async def session(self, connected: Callable[[], None]) -> str | None:
        """List and watch on a thread until that fails (raises); cancelled: stop the thread."""
        watch = self._watch
        assert watch is not None

        def work(ready: Callable[[], None]) -> str:
            watch.session(ready)
            return "the watch ended"  # only when stopped from elsewhere

        async def interrupt(ended: asyncio.Future[str | None]) -> None:
            """A delivery in flight gets ``stop_grace`` to finish, then is cancelled."""
            watch.stop()
            await asyncio.wait({ended}, timeout=self.stop_grace if self._pending else JOIN_WITHIN)
            pending = self._pending
            if not ended.done() and pending is not None:  # still delivering after the grace
                pending.cancel()

        return await run_blocking(f"resource watch {watch.name}", work, connected, interrupt)


async def _emitting(emit: Emit, raw: RawEvent) -> None:
    await emit(raw)  # run_coroutine_threadsafe wants a coroutine; emit is any awaitable


KIND = SourceKind(name="resource", config=ResourceConfig, create=ResourceSource, exclusive=True)
