"""Directory listings, the changes between two, and the listing kept under the state directory.

An :class:`Entry` is what WebHDFS ``LISTSTATUS`` says of one name: its inode id (``fileId``),
length, modification time, permission, owner and group. :func:`changes` compares two listings:

- a name that appears is CREATE, unless an entry that disappeared had the same inode id: then
  it is one RENAME (old and new name);
- a name whose inode id changed was replaced: REMOVE, then CREATE;
- a changed length or modification time is WRITE; a changed permission, owner or group CHMOD;
- a name that disappears (not renamed) is REMOVE.

Only the two listings are compared, so states between them are not seen: a file created and
removed between two listings makes no event, one created and written makes CREATE only, and
several writes make one WRITE.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

log = logging.getLogger(__name__)
DIRECTORY = "hdfs-listings"


@dataclass(frozen=True, slots=True)
class Entry:
    file_id: int
    type: str  # FILE, DIRECTORY or SYMLINK
    length: int
    modification_time: int  # milliseconds since the epoch, as HDFS keeps it
    permission: str
    owner: str
    group: str

    @classmethod
    def from_status(cls, status: Mapping[str, Any]) -> Entry:
        """An entry from WebHDFS's FileStatus JSON."""
        return cls(
            file_id=int(status.get("fileId", 0)),
            type=str(status.get("type", "FILE")),
            length=int(status.get("length", 0)),
            modification_time=int(status.get("modificationTime", 0)),
            permission=str(status.get("permission", "")),
            owner=str(status.get("owner", "")),
            group=str(status.get("group", "")),
        )


Listing = dict[str, Entry]


@dataclass(frozen=True, slots=True)
class Change:
    """One operation on ``name``; ``entry`` is its state after (before, for REMOVE)."""

    operation: str
    name: str
    entry: Entry
    old_name: str | None = None  # RENAME only

    @property
    def names(self) -> tuple[str, ...]:
        """The names whose listed state this change moves on."""
        return (self.name,) if self.old_name is None else (self.old_name, self.name)


def changes(before: Mapping[str, Entry], after: Mapping[str, Entry]) -> list[Change]:
    """What happened between two listings, in name order (see the module docstring)."""
    gone = {name: entry for name, entry in before.items() if name not in after}
    gone_by_id = {entry.file_id: name for name, entry in gone.items() if entry.file_id}
    found: list[Change] = []
    for name in sorted(after):
        entry = after[name]
        old = before.get(name)
        if old is None:
            renamed = gone_by_id.pop(entry.file_id, None) if entry.file_id else None
            if renamed is not None:
                del gone[renamed]
                found.append(Change("RENAME", name, entry, old_name=renamed))
            else:
                found.append(Change("CREATE", name, entry))
        elif old.file_id != entry.file_id:
            found.append(Change("REMOVE", name, old))
            found.append(Change("CREATE", name, entry))
        else:
            if (old.length, old.modification_time) != (entry.length, entry.modification_time):
                found.append(Change("WRITE", name, entry))
            if (old.permission, old.owner, old.group) != (
                entry.permission,
                entry.owner,
                entry.group,
            ):
                found.append(Change("CHMOD", name, entry))
    found.extend(Change("REMOVE", name, entry) for name, entry in sorted(gone.items()))
    return found


def settle(
    before: Mapping[str, Entry], after: Mapping[str, Entry], undelivered: Iterable[Change]
) -> Listing:
    """The listing to keep: ``after``, except that a name touched by a change not delivered
    keeps its state in ``before`` (so the next comparison finds that change again)."""
    held = {name for change in undelivered for name in change.names}
    kept = {name: entry for name, entry in after.items() if name not in held}
    kept.update({name: before[name] for name in held if name in before})
    return kept


class ListingStore:
    """The last listing of each source, one JSON file per source under the state directory,
    replaced atomically. A listing saved for another directory is not used."""

    def __init__(self, state_dir: Path, gateway: str, source: str) -> None:
        name = f"{quote(gateway, safe='')}--{quote(source, safe='')}.json"
        self.path = Path(state_dir) / DIRECTORY / name

    def load(self, target: str) -> Listing | None:
        try:
            data = json.loads(self.path.read_text())
            if data.get("target") != target:
                return None
            return {name: Entry(**fields) for name, fields in data["entries"].items()}
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            log.warning("%s: unreadable (%s); the source starts afresh", self.path, exc)
            return None

    def save(self, target: str, listing: Mapping[str, Entry]) -> None:
        entries = {name: asdict(entry) for name, entry in listing.items()}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        temporary.write_text(json.dumps({"target": target, "entries": entries}, sort_keys=True))
        temporary.replace(self.path)
