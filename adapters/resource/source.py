"""Resource sources: a Kubernetes watch of any group/version/kind (or resource) as CloudEvents.

Credentials: the pod's service account in a cluster, else ``$KUBECONFIG`` or ~/.kube/config;
one API client serves every resource source of the process. The watch runs on a thread of its
own (the official client blocks) and hands each change to the event loop, one at a time, so a
source has one delivery in flight and changes arrive in order. See
:mod:`adapters.resource.watch` for restarts and :mod:`adapters.resource.message` for the
CloudEvent attributes.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from typing import Any

from adapters.resource.checkpoints import Checkpoints
from adapters.resource.watch import ResourceWatch
from gateways.config.common import Backoff
from gateways.config.resource import ResourceConfig
from gateways.kinds import SourceContext
from gateways.registry.kubeapi import KubeAPI, load_api_client
from gateways.source import Emit, Origin, RawEvent

log = logging.getLogger(__name__)
STOP_GRACE = 5.0  # seconds an in-flight delivery gets to finish on stop


async def shared_api(context: SourceContext) -> KubeAPI:
    """The process's one Kubernetes API client, made on first use."""
    api = context.resources.get("kube-api")
    if api is None:
        client = await asyncio.to_thread(load_api_client)  # KubeCredentialsError: a GatewayError
        api = context.resources.setdefault("kube-api", KubeAPI(client))
    assert isinstance(api, KubeAPI)
    return api


class ResourceSource:
    def __init__(
        self,
        origin: Origin,
        config: ResourceConfig,
        context: SourceContext,
        *,
        backoff: Backoff | None = None,
        stop_grace: float = STOP_GRACE,
    ) -> None:
        self.origin = origin
        self.config = config
        self.context = context
        self.backoff = backoff
        self.stop_grace = stop_grace
        where = f"namespace {config.namespace}" if config.namespace else "all namespaces"
        self.address = f"{config.api_version} {config.resource_kind or config.resource} in {where}"
        self._watch: ResourceWatch | None = None
        self._pending: concurrent.futures.Future[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self, emit: Emit) -> None:
        loop = self._loop = asyncio.get_running_loop()
        api = await shared_api(self.context)
        state_dir = self.context.settings.state_dir

        def checkpoints() -> Checkpoints:
            return Checkpoints(state_dir)

        def deliver(raw: RawEvent) -> None:  # on the watch thread
            self._pending = asyncio.run_coroutine_threadsafe(_emitting(emit, raw), loop)
            try:
                self._pending.result()
            finally:
                self._pending = None

        self._watch = ResourceWatch(
            api,
            self.config,
            name=f"{self.origin.gateway}/{self.origin.source}",
            checkpoints=self.context.resource("resource-checkpoints", checkpoints),
            deliver=deliver,
            report=self._report,
            discovery_dir=state_dir,
            backoff=self.backoff,
        )
        self._watch.start()

    def _report(self, problem: str | None) -> None:  # on the watch thread
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        state, reason = ("running", "") if problem is None else ("degraded", problem)
        loop.call_soon_threadsafe(self.context.on_status, self.origin, state, reason)

    async def stop(self) -> None:
        watch, self._watch = self._watch, None
        if watch is None:
            return
        watch.stop()
        await asyncio.to_thread(watch.join, self.stop_grace)
        pending = self._pending
        if pending is not None:  # a delivery still running after the grace period
            pending.cancel()
            await asyncio.to_thread(watch.join, self.stop_grace)


async def _emitting(emit: Emit, raw: RawEvent) -> None:
    await emit(raw)  # run_coroutine_threadsafe wants a coroutine; emit is any awaitable


class _ResourceKind:
    name = "resource"

    def create(self, origin: Origin, config: Any, context: SourceContext) -> ResourceSource:
        return ResourceSource(origin, config, context)


KIND = _ResourceKind()
