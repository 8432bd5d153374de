"""Where each resource source got to: a :class:`gateways.checkpoints.CheckpointFile`, or, when
the registry is ConfigMaps (replicas in a cluster), the gateway ConfigMap's annotation
``gateways.dev/resource-checkpoints``, where the next owner of the source reads it.

A checkpoint holds the resourceVersion of the last event delivered (or the last bookmark), when
it was saved, when the source first started (for ``filter.afterStart``), and what it watches:
a source whose target changed starts afresh.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from gateways.checkpoints import CheckpointFile, CheckpointStore, ConfigMapCheckpoints
from gateways.registry.kubeapi import KubeAPI

FILE_NAME = "resource-checkpoints.json"
ANNOTATION = "gateways.dev/resource-checkpoints"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    resource_version: str
    saved_at: datetime
    started: datetime
    target: str

    def to_json(self) -> dict[str, str]:
        data = asdict(self)
        return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in data.items()}

    @classmethod
    def from_json(cls, data: dict[str, str]) -> Checkpoint:
        return cls(
            resource_version=data["resource_version"],
            saved_at=datetime.fromisoformat(data["saved_at"]),
            started=datetime.fromisoformat(data["started"]),
            target=data["target"],
        )


class Checkpoints(CheckpointFile[Checkpoint]):
    def __init__(self, state_dir: Path) -> None:
        super().__init__(state_dir, FILE_NAME, Checkpoint.from_json)


def checkpoint_store(settings: Any, api: KubeAPI) -> CheckpointStore[Checkpoint]:
    """The ConfigMap annotation when the registry is ConfigMaps, else the state-dir file."""
    if getattr(settings, "configmaps", ()):
        return ConfigMapCheckpoints(api, settings.namespace, ANNOTATION, Checkpoint.from_json)
    return Checkpoints(settings.state_dir)
