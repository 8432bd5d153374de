"""The API-server side of one resource source: discovery, list and watch (a
:class:`~gateways.registry.reflector.Reflector`), the objects seen so far, and checkpoints.

Runs on the session's thread (see :mod:`adapters.resource.source`). Each change is delivered
(``deliver`` blocks until the dispatcher accepted it) before the next is looked at and before
its resourceVersion is checkpointed, so a delivery that fails ends the session, and the next
session delivers it again, in order.

Start and restart:

- first start (no checkpoint): list, deliver every object as ``add`` (what an informer does;
  ``filter.afterStart`` keeps only objects created after this first start), then watch.
- restart: list the objects exactly as they were at the checkpoint, without delivering them
  (this primes ``oldObject``), then watch from the checkpoint: every change made while the
  source was stopped arrives once, with its real action, and nothing delivered before comes
  again.
- restart after too long (etcd compacted the checkpoint; 410 Gone): list now and deliver only
  objects whose resourceVersion is newer than the checkpoint, as ``add`` when created after the
  checkpoint was saved, else as ``update`` with a null ``oldObject``. The trade-off: deletions
  made in that gap are not seen, and an object changed several times arrives once, as it is now.
- a watch that expires while running (410 Gone): list again and diff against the objects seen,
  so adds, updates (with ``oldObject``) and deletes of the gap all arrive.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import ResourceNotFoundError

from adapters.resource.checkpoints import Checkpoint
from adapters.resource.config import ResourceConfig
from adapters.resource.filters import creation_time, passes
from adapters.resource.message import ACTIONS, EVENT_TYPES, newer, raw_event, uid_of, version_of
from adapters.resource.selectors import Requirement
from gateways.checkpoints import CheckpointStore
from gateways.errors import GatewayError
from gateways.registry.kubeapi import KubeAPI, KubeAPIError, Object
from gateways.registry.reflector import Reflector, Target
from gateways.source import RawEvent

log = logging.getLogger(__name__)


def target_key(config: ResourceConfig) -> str:
    """What a checkpoint is valid for: a source watching something else starts afresh."""
    what = config.resource_kind or config.resource
    return (
        f"{config.api_version} {what} namespace={config.namespace or '*'} "
        f"labels={config.label_selector_text} fields={config.field_selector_text}"
    )


class ResourceWatch(Reflector):
    def __init__(
        self,
        api: KubeAPI,
        config: ResourceConfig,
        *,
        name: str,
        checkpoints: CheckpointStore[Checkpoint],
        deliver: Callable[[RawEvent], None],
        discovery_dir: Path,
    ) -> None:
        self.config = config
        self.checkpoints = checkpoints
        self.deliver = deliver
        self.discovery_dir = discovery_dir
        self.key = target_key(config)
        checkpoint = checkpoints.load(name)
        if checkpoint is not None and checkpoint.target != self.key:
            log.info("resource %s: now watching %s; starting afresh", name, self.key)
            checkpoint = None
        super().__init__(
            api,
            name,
            resource_version=checkpoint.resource_version if checkpoint else None,
            prime=checkpoint is not None,
        )
        self.started = checkpoint.started if checkpoint else datetime.now(UTC)
        # Set from a checkpoint until its objects were listed: the floor of what is new.
        self.floor = checkpoint
        self.saved_version = checkpoint.resource_version if checkpoint else ""
        self.known: dict[str, Object] = {}
        self.kind = config.resource_kind or ""
        self.client_fields: tuple[Requirement, ...] = ()
        self._target: Target | None = None
        # A delivery failed, and nothing after it was checkpointed yet: not connected again.
        self.owed = False
        self._connected: Callable[[], None] = lambda: None

    def session(self, connected: Callable[[], None]) -> None:
        """One supervisor session (see :meth:`Reflector.session`).

        The source is connected once the API server answered its list (delivering what was
        listed may take long) or a watch opened; after a failed delivery, only once a
        checkpoint was reached again, so a delivery that keeps failing backs off further.
        """
        self._connected = connected
        super().session(self._ready)

    def _ready(self) -> None:
        if not self.owed:
            self._connected()

    def target(self) -> Target:
        if self._target is None:
            self._target = self._discover()
        return self._target

    def _discover(self) -> Target:
        config = self.config
        host = self.api.api_client.configuration.host
        digest = hashlib.sha256(host.encode()).hexdigest()[:12]
        self.discovery_dir.mkdir(parents=True, exist_ok=True)
        cache = self.discovery_dir / f"kube-discovery-{digest}.json"
        dynamic = DynamicClient(self.api.api_client, cache_file=str(cache))
        try:
            if config.resource_kind:
                resource = dynamic.resources.get(api_version=config.api_version, kind=self.kind)
            else:
                resource = dynamic.resources.get(
                    api_version=config.api_version, name=config.resource
                )
        except ResourceNotFoundError:
            what = (
                f"kind {self.kind!r}" if config.resource_kind else f"resource {config.resource!r}"
            )
            raise GatewayError(
                f"the API server has no {what} in {config.api_version} (is its CRD installed?)"
            ) from None
        self.kind = resource.kind
        namespace = config.namespace if resource.namespaced else None
        fields = "" if self.client_fields else config.field_selector_text
        return Target(resource.path(namespace=namespace), config.label_selector_text, fields)

    def recover(self, exc: Exception) -> bool:
        """A field selector the resource does not support server-side is checked here instead."""
        unsupported = (
            isinstance(exc, KubeAPIError) and exc.status == 400 and "field label" in str(exc)
        )
        if unsupported and self.config.field_selector and not self.client_fields:
            log.warning("resource %s: %s; checking fieldSelector in the gateway", self.name, exc)
            self.client_fields = self.config.field_selector
            self._target = None
            return True
        return False

    # ------------------------------------------------------------------ changes

    def listed(self, objects: list[Object], resource_version: str, exact: bool) -> None:
        self._ready()
        current = {uid_of(obj): obj for obj in objects}
        if exact:
            self.known, self.floor = current, None
            return
        floor = self.floor
        for uid, obj in current.items():
            old = self.known.get(uid)
            if old is not None:
                if version_of(old) != version_of(obj):
                    self._deliver("update", obj, old)
            elif floor is None:
                self._deliver("add", obj, None)
            elif not newer(version_of(obj), floor.resource_version):
                self.known[uid] = obj  # delivered before the restart
            else:
                created = creation_time(obj)
                new = created is None or created > floor.saved_at
                self._deliver("add" if new else "update", obj, None)
        for uid in [uid for uid in self.known if uid not in current]:
            self._deliver("delete", self.known[uid], None)
        self.floor = None
        self._checkpoint(resource_version)

    def changed(self, event_type: str, obj: Object) -> None:
        action = ACTIONS.get(event_type)
        if action is None:
            log.debug("resource %s: ignoring watch event %s", self.name, event_type)
            return
        old = self.known.get(uid_of(obj)) if action == "update" else None
        if self._deliver(action, obj, old):
            self._checkpoint(version_of(obj))

    def bookmarked(self, resource_version: str) -> None:
        self._checkpoint(resource_version)

    def _deliver(self, action: str, obj: Object, old: Object | None) -> bool:
        """Deliver one change if wanted (raises when delivery fails); then remember the object."""
        if self.stopping:  # a stopped source delivers nothing more
            raise GatewayError(f"resource {self.name}: stopping")
        wanted = EVENT_TYPES[action] in self.config.event_types and passes(
            obj, self.config.filter, started=self.started, fields=self.client_fields
        )
        if wanted:
            raw = raw_event(
                action,
                obj,
                old,
                group=self.config.group,
                version=self.config.version,
                kind=self.kind,
            )
            try:
                self.deliver(raw)
            except BaseException:
                self.owed = True
                raise
        if action == "delete":
            self.known.pop(uid_of(obj), None)
        else:
            self.known[uid_of(obj)] = obj
        return wanted

    def _checkpoint(self, resource_version: str) -> None:
        if self.owed:  # everything up to here was delivered, the change that failed included
            self.owed = False
            self._connected()
        if not resource_version or resource_version == self.saved_version:
            return
        checkpoint = Checkpoint(resource_version, datetime.now(UTC), self.started, self.key)
        try:
            self.checkpoints.save(self.name, checkpoint)
        except OSError as exc:  # the watch goes on; a restart would then repeat a few events
            log.warning("resource %s: cannot save checkpoint: %s", self.name, exc)
            return
        self.saved_version = resource_version
