"""Changes as raw events: the seed's payload shape, deterministic ids, both names of a rename."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from adapters.file.message import Change, Stat, raw_event


def test_a_create_in_the_seeds_shape() -> None:
    stat = Stat(inode=42, mtime_ns=1_700_000_000_123_456_789)
    raw = raw_event(Change("CREATE", "/data", "a.txt", stat=stat))
    assert json.loads(raw.payload) == {
        "name": "/data/a.txt",
        "op": "CREATE",
        "path": "a.txt",
        "directory": "/data",
        "isDir": False,
    }
    assert raw.content_type == "application/json"
    assert raw.id == "CREATE:a.txt:42:1700000000123456789"
    assert raw.action == "create" and raw.subject == "a.txt"
    assert raw.time == datetime(2023, 11, 14, 22, 13, 20, 123457, tzinfo=UTC)
    assert raw.extensions == {"fileop": "CREATE", "filepath": "/data/a.txt"}


def test_a_rename_carries_both_names() -> None:
    stat = Stat(inode=7, mtime_ns=5)
    raw = raw_event(Change("RENAME", "/d", "new.txt", old_name="old.txt", stat=stat))
    payload = json.loads(raw.payload)
    assert (payload["name"], payload["oldName"]) == ("/d/new.txt", "/d/old.txt")
    assert (payload["path"], payload["oldPath"]) == ("new.txt", "old.txt")
    assert raw.extensions == {
        "fileop": "RENAME",
        "filepath": "/d/new.txt",
        "fileoldpath": "/d/old.txt",
    }
    assert raw.id == "RENAME:old.txt:new.txt:7:5"
    assert Change("RENAME", "/d", "new.txt", old_name="old.txt").key == "old.txt"
    assert raw.action == "rename"


def test_the_same_file_unchanged_gets_the_same_id() -> None:
    stat = Stat(inode=9, mtime_ns=10)
    live = raw_event(Change("CREATE", "/d", "f", stat=stat))
    existing = raw_event(Change("CREATE", "/d", "f", stat=stat, existing=True))
    assert live.id == existing.id
    assert existing.extensions["fileexisting"] == "true"
    changed = raw_event(Change("CREATE", "/d", "f", stat=Stat(inode=9, mtime_ns=11)))
    assert changed.id != live.id


def test_a_file_never_seen_has_no_id_and_no_time() -> None:
    raw = raw_event(Change("REMOVE", "/d", "gone", is_dir=True))
    assert raw.id is None and raw.time is None  # the builder gives it a random id
    assert json.loads(raw.payload)["isDir"] is True
    assert raw.action == "remove"
