"""Listings compared (CREATE, WRITE, REMOVE, RENAME, CHMOD, replace), the listing kept, and a
change as a raw event."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from adapters.hdfs.listing import Change, Entry, ListingStore, changes, settle
from adapters.hdfs.message import raw_event


def entry(file_id: int, length: int = 1, mtime: int = 1000, permission: str = "644") -> Entry:
    return Entry(file_id, "FILE", length, mtime, permission, "gw", "supergroup")


def test_changes_between_two_listings() -> None:
    before = {
        "kept": entry(1),
        "written": entry(2),
        "chmodded": entry(3),
        "removed": entry(4),
        "old-name": entry(5),
        "replaced": entry(6),
    }
    after = {
        "kept": entry(1),
        "written": entry(2, length=9, mtime=2000),
        "chmodded": entry(3, permission="600"),
        "new-name": entry(5),
        "replaced": entry(7, mtime=3000),
        "created": entry(8, mtime=4000),
    }
    assert changes(before, after) == [
        Change("CHMOD", "chmodded", entry(3, permission="600")),
        Change("CREATE", "created", entry(8, mtime=4000)),
        Change("RENAME", "new-name", entry(5), old_name="old-name"),
        Change("REMOVE", "replaced", entry(6)),
        Change("CREATE", "replaced", entry(7, mtime=3000)),
        Change("WRITE", "written", entry(2, length=9, mtime=2000)),
        Change("REMOVE", "removed", entry(4)),
    ]
    assert changes(after, after) == []


def test_settle_keeps_the_old_state_of_names_not_delivered() -> None:
    before = {"a": entry(1), "b": entry(2), "old": entry(3)}
    after = {"a": entry(1, mtime=2), "b": entry(2, mtime=2), "new": entry(3), "c": entry(4)}
    found = changes(before, after)
    rename = next(c for c in found if c.operation == "RENAME")
    write_b = next(c for c in found if c.name == "b")
    kept = settle(before, after, [rename, write_b])
    assert kept == {"a": entry(1, mtime=2), "b": entry(2), "old": entry(3), "c": entry(4)}
    assert changes(kept, after) == [write_b, rename]  # found again, the same
    assert settle(before, after, []) == after


def test_the_store_keeps_a_listing_per_source_and_directory(tmp_path: Path) -> None:
    store = ListingStore(tmp_path, "gw/1", "src")
    assert store.load("/d") is None
    store.save("/d", {"a": entry(1)})
    assert store.load("/d") == {"a": entry(1)}
    assert store.load("/other") is None  # another directory starts afresh
    assert ListingStore(tmp_path, "gw/1", "src2").load("/d") is None
    store.path.write_text("{not json")
    assert store.load("/d") is None


def test_a_change_as_a_raw_event() -> None:
    created = raw_event(
        "/in", Change("CREATE", "a.txt", entry(1, length=5, mtime=1_700_000_000_123))
    )
    assert created.id == "/in/a.txt:CREATE:1700000000123"
    assert (created.subject, created.action) == ("/in/a.txt", "create")
    assert created.content_type == "application/json"
    assert created.time == datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC)
    assert json.loads(created.payload) == {
        "name": "/in/a.txt",
        "op": "CREATE",
        "length": 5,
        "modificationTime": 1_700_000_000_123,
    }
    assert created.extensions == {
        "hdfsdirectory": "/in",
        "hdfsoperation": "CREATE",
        "hdfsfiletype": "FILE",
        "hdfslength": "5",
        "hdfsmodificationtime": "1700000000123",
    }


def test_rename_and_remove() -> None:
    renamed = raw_event("/", Change("RENAME", "b", entry(1), old_name="a"))
    assert renamed.id == "/b:RENAME:1000" and renamed.subject == "/b"
    assert json.loads(renamed.payload)["oldName"] == "/a"
    assert renamed.extensions["hdfsoldpath"] == "/a"
    removed = raw_event("/in/", Change("REMOVE", "a", entry(1)))
    assert removed.id == "/in/a:REMOVE:1000"
    assert removed.time is None  # when it went is not known; the builder stamps now
