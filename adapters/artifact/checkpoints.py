"""Where each artifact source got to: a :class:`gateways.checkpoints.CheckpointFile`, or, when
the registry is ConfigMaps (replicas in a cluster), the gateway ConfigMap's annotation
``gateways.dev/artifact-checkpoints``, where the next owner of the source reads it.

A checkpoint holds the time of the newest event delivered (``since``, MinIO's clock), the ids
of those delivered shortly before it (``recent``, so a listing does not send them again), when
it was saved, and what the source watches: a source whose target changed starts afresh.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from gateways import checkpoints
from gateways.checkpoints import CheckpointFile, CheckpointStore, ConfigMapCheckpoints
from gateways.kinds import SourceContext

FILE_NAME = "artifact-checkpoints.json"
ANNOTATION = "gateways.dev/artifact-checkpoints"
# Ids a checkpoint remembers (past them, a listing may send one again). Every source of a
# gateway shares one annotation, and a ConfigMap's annotations 256 KiB: about 100 bytes an id.
FILE_RECENT = 512
ANNOTATION_RECENT = 100


@dataclass(frozen=True, slots=True)
class Checkpoint:
    target: str
    since: datetime
    saved_at: datetime
    recent: dict[str, datetime] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "since": self.since.isoformat(),
            "saved_at": self.saved_at.isoformat(),
            "recent": {key: moment.isoformat() for key, moment in self.recent.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Checkpoint:
        return cls(
            target=str(data["target"]),
            since=datetime.fromisoformat(data["since"]),
            saved_at=datetime.fromisoformat(data["saved_at"]),
            recent={str(k): datetime.fromisoformat(v) for k, v in data["recent"].items()},
        )


class Checkpoints(CheckpointFile[Checkpoint]):
    def __init__(self, state_dir: Path) -> None:
        super().__init__(state_dir, FILE_NAME, Checkpoint.from_json)


async def checkpoint_store(context: SourceContext) -> tuple[CheckpointStore[Checkpoint], int]:
    """The process's artifact checkpoints, and how many recent ids a checkpoint keeps there."""
    store = await checkpoints.checkpoint_store(context, ANNOTATION, FILE_NAME, Checkpoint.from_json)
    return store, ANNOTATION_RECENT if isinstance(store, ConfigMapCheckpoints) else FILE_RECENT
