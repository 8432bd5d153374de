"""``coordination.k8s.io/v1`` Lease documents: names, holders, expiry, and the blocking calls.

Member leases (one a replica, labelled with its group) say who is alive; source leases (one
an exclusive source, annotated with its key) say who runs it. A lease is live while
``renewTime + leaseDurationSeconds`` is in the future and it names a holder.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from gateways.registry.kubeapi import KubeAPI, Object

GROUP_LABEL = "gateways.dev/replica-group"
ROLE_LABEL = "gateways.dev/lease"
SOURCE_ANNOTATION = "gateways.dev/source"
_INVALID = re.compile(r"[^a-z0-9-]+")


def leases_path(namespace: str) -> str:
    return f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"


def dns_name(text: str, limit: int = 63) -> str:
    """``text`` as a lowercase DNS label (a hash keeps distinct long names distinct)."""
    name = _INVALID.sub("-", text.lower()).strip("-") or "x"
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(text.encode()).hexdigest()[:10]
    return f"{name[: limit - 11].rstrip('-')}-{digest}"


def member_lease_name(group: str, replica: str) -> str:
    return dns_name(f"gateways-{group}-{replica}", 253)


def source_lease_name(key: str) -> str:
    return f"gateways-src-{hashlib.sha256(key.encode()).hexdigest()[:20]}"


def micro_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


@dataclass(frozen=True)
class Lease:
    name: str
    holder: str
    renewed: datetime | None
    duration: float
    document: Object

    @classmethod
    def of(cls, document: Object) -> Lease:
        spec = document.get("spec") or {}
        return cls(
            str((document.get("metadata") or {}).get("name", "")),
            str(spec.get("holderIdentity") or ""),
            parse_time(spec.get("renewTime")),
            float(spec.get("leaseDurationSeconds") or 0),
            document,
        )

    def live(self, now: datetime) -> bool:
        if not self.holder or self.renewed is None:
            return False
        return self.renewed + timedelta(seconds=self.duration) > now

    @property
    def source_key(self) -> str:
        annotations = (self.document.get("metadata") or {}).get("annotations") or {}
        return str(annotations.get(SOURCE_ANNOTATION, ""))


class LeaseStore:
    """Blocking Lease calls in one namespace (run them on a worker thread)."""

    def __init__(self, api: KubeAPI, namespace: str, duration: float) -> None:
        self.api = api
        self.path = leases_path(namespace)
        self.seconds = max(1, math.ceil(duration))  # the API keeps whole seconds

    def list(self, role: str, group: str = "") -> list[Lease]:
        selector = f"{ROLE_LABEL}={role}" + (f",{GROUP_LABEL}={group}" if group else "")
        objects, _ = self.api.list_objects(self.path, label_selector=selector)
        return [Lease.of(document) for document in objects]

    def create(
        self, name: str, holder: str, labels: dict[str, str], annotations: dict[str, str]
    ) -> Lease:
        """A new lease held by ``holder``; KubeAPIError 409 when it already exists."""
        now = micro_time(datetime.now(UTC))
        document: Object = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": name, "labels": labels, "annotations": annotations},
            "spec": {
                "holderIdentity": holder,
                "leaseDurationSeconds": self.seconds,
                "acquireTime": now,
                "renewTime": now,
                "leaseTransitions": 0,
            },
        }
        return Lease.of(self.api.post(self.path, document))

    def hold(self, lease: Lease, holder: str) -> Lease:
        """Renew (same holder), take over or release (``holder`` empty) ``lease``, as of the
        version listed: KubeAPIError 409 when someone changed it since."""
        now = micro_time(datetime.now(UTC))
        spec = dict(lease.document.get("spec") or {})
        if holder != lease.holder:
            spec["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + 1
            spec["acquireTime"] = now
        spec.update(holderIdentity=holder or None, leaseDurationSeconds=self.seconds)
        spec["renewTime"] = now
        document = {**lease.document, "spec": spec}
        return Lease.of(self.api.put(f"{self.path}/{lease.name}", document))

    def delete(self, lease: Lease) -> None:
        """Delete ``lease`` as of the version listed: KubeAPIError 409 when someone changed it
        since, 404 when it is gone already."""
        version = str((lease.document.get("metadata") or {}).get("resourceVersion") or "")
        self.api.delete(f"{self.path}/{lease.name}", resource_version=version)
