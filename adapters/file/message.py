"""A change in the watched directory as a raw event.

The payload is JSON in the seed's shape, ``{"name": <full path>, "op": <OPERATION>}``, with
``path`` (the name relative to the directory), ``directory``, ``isDir`` and, for RENAME,
``oldName``/``oldPath`` (the name it had). The action is the operation in lower case (type
``dev.gateways.file.create``, ...), the subject the relative name, the time the file's mtime
when it could be read. Extensions: ``fileop``, ``filepath`` (full path), ``fileoldpath``
(RENAME), ``fileexisting`` (``true`` on the CREATE that ``emitExisting`` sends at start).

The id is deterministic where the file can be identified: ``<OP>:<path>:<inode>:<mtime_ns>``
(RENAME: ``RENAME:<old path>:<path>:<inode>:<mtime_ns>``), from the file's stat when the event
was read (REMOVE: the last stat seen of it). So the same file, unchanged, gets the same CREATE
id from ``emitExisting`` on every start, and a consumer can drop what it already has. A file
never seen (created and removed before it could be read) gets no id here; the builder gives it a
random one.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime

from gateways.source import RawEvent


@dataclass(frozen=True, slots=True)
class Stat:
    """What identifies one version of a file: inode and modification time (ns)."""

    inode: int
    mtime_ns: int

    @classmethod
    def of(cls, result: os.stat_result) -> Stat:
        return cls(result.st_ino, result.st_mtime_ns)


@dataclass(frozen=True, slots=True)
class Change:
    """One reported operation on ``name`` (relative to ``directory``)."""

    op: str
    directory: str
    name: str
    is_dir: bool = False
    old_name: str | None = None  # RENAME
    stat: Stat | None = None
    existing: bool = False  # sent by emitExisting at start

    @property
    def key(self) -> str:
        """Changes of one name are delivered in order; this is that name (a RENAME's old name:
        it follows what happened to the file under that name)."""
        return self.old_name or self.name

    @property
    def event_id(self) -> str | None:
        if self.stat is None:
            return None
        names = self.name if self.old_name is None else f"{self.old_name}:{self.name}"
        return f"{self.op}:{names}:{self.stat.inode}:{self.stat.mtime_ns}"


def raw_event(change: Change) -> RawEvent:
    full = os.path.join(change.directory, change.name)
    payload: dict[str, object] = {
        "name": full,
        "op": change.op,
        "path": change.name,
        "directory": change.directory,
        "isDir": change.is_dir,
    }
    extensions = {"fileop": change.op, "filepath": full}
    if change.old_name is not None:
        old = os.path.join(change.directory, change.old_name)
        payload.update(oldName=old, oldPath=change.old_name)
        extensions["fileoldpath"] = old
    if change.existing:
        extensions["fileexisting"] = "true"
    time = None
    if change.stat is not None:
        time = datetime.fromtimestamp(change.stat.mtime_ns / 1e9, tz=UTC)
    return RawEvent(
        payload=json.dumps(payload, separators=(",", ":")).encode(),
        content_type="application/json",
        id=change.event_id,
        subject=change.name,
        time=time,
        action=change.op.lower(),
        extensions=extensions,
    )
