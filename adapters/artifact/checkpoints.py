"""Where each artifact source got to: one JSON file under the state directory, a key per source,
kept as the resource kind keeps its checkpoints.

A checkpoint holds the time of the newest event delivered (``since``, MinIO's clock), the ids
of those delivered shortly before it (``recent``, so a listing does not send them again), when
it was saved, and what the source watches: a source whose target changed starts afresh.
Writes replace the file atomically; several sources of one process share it through one lock.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
FILE_NAME = "artifact-checkpoints.json"


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


class Checkpoints:
    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / FILE_NAME
        self._lock = threading.Lock()

    def load(self, key: str) -> Checkpoint | None:
        with self._lock:
            data = self._read().get(key)
        if not isinstance(data, dict):
            return None
        try:
            return Checkpoint.from_json(data)
        except (KeyError, TypeError, ValueError, AttributeError):
            log.warning("%s: checkpoint of %s unreadable; starting afresh", self.path, key)
            return None

    def save(self, key: str, checkpoint: Checkpoint) -> None:
        with self._lock:
            data = self._read()
            data[key] = checkpoint.to_json()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}")
            temporary.write_text(json.dumps(data, indent=1, sort_keys=True))
            temporary.replace(self.path)

    def _read(self) -> dict[str, object]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("%s: unreadable (%s); sources start afresh", self.path, exc)
            return {}
        return data if isinstance(data, dict) else {}
