"""Where each resource source got to: one JSON file under the state directory, a key per source.

A checkpoint holds the resourceVersion of the last event delivered (or the last bookmark), when
it was saved, when the source first started (for ``filter.afterStart``), and what it watches:
a source whose target changed starts afresh. Writes replace the file atomically; several
sources of one process share it through one lock.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

log = logging.getLogger(__name__)
FILE_NAME = "resource-checkpoints.json"


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
        except (KeyError, TypeError, ValueError):
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
