"""The Kubernetes backend: the named ConfigMaps of one namespace, watched through the API.

Same semantics as the file backend: every change hands the full snapshot of gateways to
``on_change`` (the reconciler diffs it by content hash), so a ConfigMap deleted stops its
sources and one created again starts them. Each ConfigMap has its own watch (a field selector
on its name, which a Role limited by ``resourceNames`` allows). When the API server cannot be
reached, what runs keeps running; the watch retries with a backoff and resumes from the last
resourceVersion, or lists again once that is too old. Source status changes become Events on
the ConfigMaps (see :mod:`gateways.registry.events`) once ``record_status`` is subscribed to
the reconciler.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from gateways.config.common import Backoff
from gateways.errors import ConfigError, GatewayError
from gateways.registry.events import EventRecorder
from gateways.registry.kubeapi import KubeAPI, KubeAPIError, Object, is_transient, load_api_client
from gateways.registry.model import Gateway, gateway_from_configmap
from gateways.registry.reflector import Reflector, Target
from gateways.registry.status import SourceStatus

log = logging.getLogger(__name__)
OnChange = Callable[[list[Gateway], list[str]], Awaitable[None]]
NEEDED_RIGHTS = "get, list and watch on configmaps (and create on events)"


class RegistryAccessError(GatewayError):
    """The API server refused to show the registry ConfigMaps to this process."""


class KubeRegistry:
    def __init__(
        self,
        namespace: str,
        configmap_names: Sequence[str],
        on_change: OnChange,
        default_kind: str | None = None,
        *,
        api: KubeAPI | None = None,
        backoff: Backoff | None = None,
        record_events: bool = True,
    ) -> None:
        self.namespace = namespace
        self.names = tuple(dict.fromkeys(configmap_names))
        self.on_change = on_change
        self.default_kind = default_kind
        self.api = api
        self.backoff = backoff or Backoff()
        self.record_events = record_events
        self.events: EventRecorder | None = None
        self._documents: dict[str, Object | None] = dict.fromkeys(self.names)
        self._references: dict[str, Object] = {}
        self._watch_problems: dict[str, str] = {}
        self._watches: list[_ConfigMapWatch] = []
        self._last: tuple[list[Gateway], list[str]] | None = None
        self._publishing = asyncio.Lock()
        self.loop: asyncio.AbstractEventLoop | None = None

    @property
    def path(self) -> str:
        return f"/api/v1/namespaces/{self.namespace}/configmaps"

    async def start(self) -> None:
        """List every ConfigMap once (refusing clearly when not allowed to), then watch them."""
        self.loop = asyncio.get_running_loop()
        api = self.api = self.api or KubeAPI(await asyncio.to_thread(load_api_client))
        versions: dict[str, str | None] = {}
        for name in self.names:
            versions[name] = await self._first_list(api, name)
        if self.record_events:
            self.events = EventRecorder(api, self.reference)
            await self.events.start()
        await self._publish()
        for name in self.names:
            watch = _ConfigMapWatch(self, api, name, versions[name])
            self._watches.append(watch)
            watch.start()

    async def _first_list(self, api: KubeAPI, name: str) -> str | None:
        """The ConfigMap's resourceVersion to watch from; None when it must be listed later."""
        try:
            objects, version = await asyncio.to_thread(
                api.list_objects, self.path, field_selector=f"metadata.name={name}"
            )
        except Exception as exc:
            if isinstance(exc, KubeAPIError) and not exc.retryable:
                raise _refusal(self.namespace, name, exc) from None
            if not is_transient(exc):
                raise
            log.warning("registry configmap/%s: %s; will keep trying", name, exc)
            self._watch_problems[name] = f"configmap/{name}: {exc}"
            return None
        self._remember(name, objects[0] if objects else None)
        if not objects:
            log.warning(
                "registry configmap/%s not found in %s; waiting for it", name, self.namespace
            )
        return version

    async def stop(self) -> None:
        for watch in self._watches:
            watch.stop()
        for watch in self._watches:
            # The loop stays free meanwhile, so a snapshot being applied finishes first.
            await asyncio.to_thread(watch.join, 10.0)
        self._watches.clear()
        if self.events is not None:
            await self.events.stop()
            self.events = None

    def record_status(self, status: SourceStatus) -> None:
        """Subscribe this to the reconciler's status changes to get Kubernetes Events.

        A source on standby runs on another replica: its owner writes its Events."""
        if self.events is not None and status.state != "standby":
            self.events.record(status)

    def reference(self, gateway: str) -> Object | None:
        """The ObjectReference of a gateway's ConfigMap (kept after it is deleted)."""
        return self._references.get(gateway)

    def _remember(self, name: str, document: Object | None) -> None:
        self._documents[name] = document
        if document is not None:
            metadata = document.get("metadata") or {}
            self._references[name] = {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "name": name,
                "namespace": metadata.get("namespace") or self.namespace,
                "uid": metadata.get("uid", ""),
                "resourceVersion": metadata.get("resourceVersion", ""),
            }

    async def update(self, name: str, document: Object | None) -> None:
        self._remember(name, document)
        await self._publish()

    async def set_problem(self, name: str, problem: str | None) -> None:
        if problem is None:
            self._watch_problems.pop(name, None)
        else:
            self._watch_problems[name] = (
                f"configmap/{name}: {problem}; keeping the sources that run"
            )
        await self._publish()

    async def _publish(self) -> None:
        async with self._publishing:
            gateways: list[Gateway] = []
            problems = [self._watch_problems[n] for n in self.names if n in self._watch_problems]
            for name in self.names:
                document = self._documents.get(name)
                if document is None:
                    continue
                try:
                    gateways.append(gateway_from_configmap(document, self.default_kind))
                except ConfigError as exc:
                    problems.extend(exc.problems)
            if (gateways, problems) == self._last:
                return
            self._last = (gateways, problems)
            await self.on_change(gateways, problems)


def _refusal(namespace: str, name: str, exc: KubeAPIError) -> RegistryAccessError:
    where = f"registry configmap/{name} in namespace {namespace!r}"
    if exc.status == 401:
        return RegistryAccessError(f"{where}: the API server did not accept the credentials")
    return RegistryAccessError(
        f"{where}: {exc.message or exc} (the registry needs {NEEDED_RIGHTS})"
    )


class _ConfigMapWatch(Reflector):
    def __init__(
        self, registry: KubeRegistry, api: KubeAPI, name: str, resource_version: str | None
    ) -> None:
        super().__init__(
            api, f"configmap/{name}", backoff=registry.backoff, resource_version=resource_version
        )
        self.registry = registry
        self.configmap = name

    def target(self) -> Target:
        return Target(self.registry.path, field_selector=f"metadata.name={self.configmap}")

    def listed(self, objects: list[Object], resource_version: str, exact: bool) -> None:
        self._call(self.registry.update(self.configmap, objects[0] if objects else None))

    def changed(self, event_type: str, obj: Object) -> None:
        self._call(self.registry.update(self.configmap, None if event_type == "DELETED" else obj))

    def report(self, problem: str | None) -> None:
        if problem is not None:
            log.error(
                "registry configmap/%s: %s; keeping the sources that run", self.configmap, problem
            )
        self._call(self.registry.set_problem(self.configmap, problem))

    def _call(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run ``coroutine`` on the event loop and wait for it: the watch goes on once applied."""
        loop = self.registry.loop
        if loop is None or self.stopping or loop.is_closed():
            coroutine.close()
            return
        asyncio.run_coroutine_threadsafe(coroutine, loop).result()
