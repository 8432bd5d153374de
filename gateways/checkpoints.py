"""Where each source of a kind got to: one JSON file under the state directory, a key per source.

A kind keeps its own checkpoint type (what it needs to resume: a resourceVersion, a time) with
``to_json`` and a reader; this file holds them. Writes replace the file atomically; several
sources of one process share it through one lock. An unreadable file or entry is logged and
the source starts afresh.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

log = logging.getLogger(__name__)


class Checkpoint(Protocol):
    def to_json(self) -> dict[str, Any]: ...


T = TypeVar("T", bound=Checkpoint)


class CheckpointFile(Generic[T]):
    """``state_dir/file_name``; ``read`` turns an entry back into a checkpoint (raising
    KeyError, TypeError, ValueError or AttributeError when it cannot)."""

    def __init__(self, state_dir: Path, file_name: str, read: Callable[[Any], T]) -> None:
        self.path = Path(state_dir) / file_name
        self._read_one = read
        self._lock = threading.Lock()

    def load(self, key: str) -> T | None:
        with self._lock:
            data = self._read().get(key)
        if not isinstance(data, dict):
            return None
        try:
            return self._read_one(data)
        except (KeyError, TypeError, ValueError, AttributeError):
            log.warning("%s: checkpoint of %s unreadable; starting afresh", self.path, key)
            return None

    def save(self, key: str, checkpoint: T) -> None:
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
