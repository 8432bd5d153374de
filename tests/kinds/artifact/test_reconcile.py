"""The listen path's reconciliation, without a server: which listed objects count as missed,
given the checkpoint a source keeps under its state directory."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from adapters.artifact.checkpoints import FILE_NAME, Checkpoints
from adapters.artifact.reconcile import (
    OVERLAP,
    RECENT_LIMIT,
    Listed,
    Progress,
    listed_event,
    wanted,
)
from gateways.source import RawEvent
from tests.kinds.artifact.kit import config

NAME = "artifact-gateway/uploads"
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def obj(key: str, seconds: float, etag: str = "e") -> Listed:
    return Listed(key, at(seconds), 1, etag)


def keys(events: list[Any]) -> list[str]:
    return [event.subject for event in events]


def test_a_first_start_delivers_nothing_and_starts_from_the_newest_object(tmp_path: Path) -> None:
    progress = Progress(Checkpoints(tmp_path), NAME, config())
    assert progress.fresh
    progress.begin([obj("old", 0), obj("newest", 30), obj("older", 25)])

    saved = json.loads((tmp_path / FILE_NAME).read_text())[NAME]
    assert datetime.fromisoformat(saved["since"]) == at(30)
    # After a restart, only what changed since counts as missed.
    again = Progress(Checkpoints(tmp_path), NAME, config())
    assert not again.fresh
    listing = [obj("old", 0), obj("newest", 30), obj("older", 25), obj("new", 31), obj("b", 31)]
    assert keys(again.missed(listing)) == ["b", "new"]  # oldest first, then by key


def test_an_empty_bucket_at_the_first_start_makes_every_later_object_missed(
    tmp_path: Path,
) -> None:
    Progress(Checkpoints(tmp_path), NAME, config()).begin([])
    again = Progress(Checkpoints(tmp_path), NAME, config())
    assert keys(again.missed([obj("a", 0), obj("b", 1)])) == ["a", "b"]


def test_delivered_events_move_the_checkpoint_and_are_not_listed_again(tmp_path: Path) -> None:
    progress = Progress(Checkpoints(tmp_path), NAME, config())
    progress.begin([obj("seen", 0)])
    for listed in (obj("a", 10), obj("b", 12)):
        progress.delivered(listed_event(listed, config()))

    again = Progress(Checkpoints(tmp_path), NAME, config())
    # "a" lies within the overlap before "b" but was delivered: only "c" is missed. "late" was
    # written before "b" yet not delivered (its notification was still on its way): found.
    listing = [obj("seen", 0), obj("a", 10), obj("late", 11.5), obj("b", 12), obj("c", 13)]
    assert keys(again.missed(listing)) == ["late", "c"]
    # Rewritten since (a new modification time): missed again, with a new id.
    assert keys(again.missed([obj("a", 14)])) == ["a"]


def test_the_listing_looks_back_only_as_far_as_the_overlap(tmp_path: Path) -> None:
    progress = Progress(Checkpoints(tmp_path), NAME, config())
    progress.begin([obj("newest", 100)])
    edge = 100 - OVERLAP.total_seconds()
    listing = [obj("before", edge - 0.001), obj("edge", edge), obj("after", 101)]
    assert keys(progress.missed(listing)) == ["edge", "after"]


def test_the_checkpoint_remembers_a_bounded_number_of_ids(tmp_path: Path) -> None:
    progress = Progress(Checkpoints(tmp_path), NAME, config())
    progress.begin([])
    for number in range(RECENT_LIMIT + 50):
        progress.delivered(listed_event(obj(f"k{number}", number / 1000), config()))
    saved = json.loads((tmp_path / FILE_NAME).read_text())[NAME]
    assert len(saved["recent"]) == RECENT_LIMIT
    assert f"/k{RECENT_LIMIT + 49}" in "".join(saved["recent"])  # the newest kept


def test_another_target_starts_afresh(tmp_path: Path) -> None:
    Progress(Checkpoints(tmp_path), NAME, config()).begin([obj("a", 0)])
    assert Progress(Checkpoints(tmp_path), NAME, config(filter={"prefix": "in/"})).fresh
    assert not Progress(Checkpoints(tmp_path), NAME, config()).fresh


def test_filters_and_event_names_apply_to_listed_objects(tmp_path: Path) -> None:
    only_puts = config(events=["s3:ObjectCreated:Put"], filter={"prefix": "in/", "suffix": ".csv"})
    progress = Progress(Checkpoints(tmp_path), NAME, only_puts)
    progress.begin([])
    listing = [
        obj("in/a.csv", 1),
        obj("in/b.txt", 2),
        obj("out/c.csv", 3),
        obj("in/multipart.csv", 4, etag="0123-3"),  # a CompleteMultipartUpload: not taken
    ]
    assert keys(progress.missed(listing)) == ["in/a.csv"]


def test_sources_without_created_events_or_with_reconcile_off_do_not_list() -> None:
    assert wanted(config())
    assert wanted(config(events=["s3:ObjectCreated:CompleteMultipartUpload"]))
    assert not wanted(config(events=["s3:ObjectRemoved:*"]))
    assert not wanted(config(reconcile=False))


def test_an_unreadable_checkpoint_starts_afresh(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_text(json.dumps({NAME: {"target": "x"}}))
    assert Progress(Checkpoints(tmp_path), NAME, config()).fresh
    (tmp_path / FILE_NAME).write_text("{not json")
    assert Progress(Checkpoints(tmp_path), NAME, config()).fresh


def test_an_event_time_without_a_zone_is_utc(tmp_path: Path) -> None:
    progress = Progress(Checkpoints(tmp_path), NAME, config())
    progress.begin([])
    progress.delivered(RawEvent(payload=b"{}", id="x/a", time=at(5).replace(tzinfo=None)))
    assert progress.checkpoint is not None and progress.checkpoint.since == at(5)
