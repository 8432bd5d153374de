"""One watched change as a raw event: what the builder turns into the CloudEvent.

- ``type``: ``dev.gateways.resource.add|update|delete`` (the action)
- ``id``: ``<uid>/<resourceVersion>/<action>``, the same on every redelivery
- ``subject``: ``<namespace>/<name>`` (``<name>`` for a cluster-scoped object)
- extensions: ``resourcegroup`` (absent for the core group), ``resourceversion`` (the API
  version, e.g. ``v1``), ``resourcekind``, ``resourcenamespace`` (absent when cluster-scoped),
  ``resourcename``
- data (JSON): ``{"type": "ADD|UPDATE|DELETE", "object": {...}}``, plus ``"oldObject"`` on an
  update: the object as last seen, or null when it was not seen (after a gap, see the source)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from gateways.source import RawEvent

# Watch event types as actions, and actions as the config's event types.
ACTIONS = {"ADDED": "add", "MODIFIED": "update", "DELETED": "delete"}
EVENT_TYPES = {"add": "ADD", "update": "UPDATE", "delete": "DELETE"}


def uid_of(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("uid") or "")


def version_of(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


def newer(version: str, than: str) -> bool:
    """resourceVersions are opaque, but etcd's are increasing integers; otherwise assume newer."""
    try:
        return int(version) > int(than)
    except ValueError:
        return True


def raw_event(
    action: str,
    obj: Mapping[str, Any],
    old: Mapping[str, Any] | None,
    *,
    group: str,
    version: str,
    kind: str,
) -> RawEvent:
    metadata = obj.get("metadata") or {}
    name = str(metadata.get("name") or "")
    namespace = str(metadata.get("namespace") or "")
    data: dict[str, Any] = {"type": EVENT_TYPES[action], "object": obj}
    if action == "update":
        data["oldObject"] = old
    extensions = {
        "resourcegroup": group,
        "resourceversion": version,
        "resourcekind": str(obj.get("kind") or kind),
        "resourcenamespace": namespace,
        "resourcename": name,
    }
    return RawEvent(
        payload=json.dumps(data, separators=(",", ":")).encode(),
        content_type="application/json",
        id=f"{uid_of(obj)}/{version_of(obj)}/{action}",
        subject=f"{namespace}/{name}" if namespace else name,
        action=action,
        extensions={k: v for k, v in extensions.items() if v},
    )
