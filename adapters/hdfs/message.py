"""A change in the watched directory as a raw event.

The payload is the seed era's shape, ``{"name": <path>, "op": <operation>}``, plus the entry's
``length``, ``modificationTime`` (milliseconds) and, for RENAME, ``oldName``. The id is
deterministic, ``<path>:<operation>:<modificationTime>``, so a change found again after a
restart or a failed delivery keeps its id.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from adapters.hdfs.listing import Change
from gateways.source import RawEvent


def full_path(directory: str, name: str) -> str:
    return f"{directory.rstrip('/')}/{name}"


def raw_event(directory: str, change: Change) -> RawEvent:
    entry = change.entry
    path = full_path(directory, change.name)
    payload: dict[str, object] = {
        "name": path,
        "op": change.operation,
        "length": entry.length,
        "modificationTime": entry.modification_time,
    }
    extensions = {
        "hdfsdirectory": directory,
        "hdfsoperation": change.operation,
        "hdfsfiletype": entry.type,
        "hdfslength": str(entry.length),
        "hdfsmodificationtime": str(entry.modification_time),
    }
    if change.old_name is not None:
        old_path = full_path(directory, change.old_name)
        payload["oldName"] = old_path
        extensions["hdfsoldpath"] = old_path
    time = None
    if change.operation != "REMOVE" and entry.modification_time > 0:
        time = datetime.fromtimestamp(entry.modification_time / 1000, tz=UTC)
    return RawEvent(
        payload=json.dumps(payload, separators=(",", ":")).encode(),
        content_type="application/json",
        id=f"{path}:{change.operation}:{entry.modification_time}",
        subject=path,
        time=time,
        action=change.operation.lower(),
        extensions=extensions,
    )
