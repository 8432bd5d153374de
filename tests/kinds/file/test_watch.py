"""The watch on the real local filesystem, through inotify and through polling: each of the
seed's operations, both names of a rename, moves in and out, names filtered, the directory lost."""

from __future__ import annotations

import os
import queue
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.file.client import Watch
from adapters.file.config import FileConfig
from adapters.file.message import Change, Stat
from tests.kit import parser

pytestmark = pytest.mark.timeout(60)
parse = parser("file", FileConfig)
ALL = "[CREATE, WRITE, REMOVE, RENAME, CHMOD]"


class Recorder:
    def __init__(self) -> None:
        self.changes: queue.Queue[Change] = queue.Queue()
        self.lost: queue.Queue[str] = queue.Queue()

    def next(self, timeout: float = 10.0) -> Change:
        return self.changes.get(timeout=timeout)

    def until(self, op: str, name: str, timeout: float = 10.0) -> Change:
        """The next change ``op`` of ``name``, skipping others (a write may come as several)."""
        while True:
            change = self.next(timeout)
            if (change.op, change.name) == (op, name):
                return change


@pytest.fixture(params=["inotify", "polling"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def watched(tmp_path: Path, mode: str) -> Iterator[Any]:
    started: list[Watch] = []

    def start(extra: str = "", types: str = ALL, directory: Path = tmp_path) -> Recorder:
        polling = "polling: true\npollInterval: 50ms\n" if mode == "polling" else ""
        text = f"directory: {directory}\ntype: {types}\n{polling}{extra or 'pathRegexp: .'}"
        recorder = Recorder()
        watch = Watch(parse(text), recorder.changes.put, recorder.lost.put)
        watch.start()
        started.append(watch)
        return recorder

    yield start
    for watch in started:
        watch.stop()


def stat(path: Path) -> Stat:
    return Stat.of(os.stat(path))


def test_each_operation(tmp_path: Path, watched: Any) -> None:
    recorder = watched()
    target = tmp_path / "a.txt"
    target.write_text("one")
    created = recorder.until("CREATE", "a.txt")
    assert created.directory == str(tmp_path) and not created.is_dir
    assert created.stat is not None and created.stat.inode == stat(target).inode

    with target.open("a") as handle:
        handle.write("two")
    while recorder.until("WRITE", "a.txt").stat != stat(target):
        pass  # the first write's WRITE may come first

    target.chmod(0o600)
    assert recorder.until("CHMOD", "a.txt").stat is not None

    target.rename(tmp_path / "b.txt")
    renamed = recorder.until("RENAME", "b.txt")
    assert renamed.old_name == "a.txt" and renamed.stat == stat(tmp_path / "b.txt")
    assert recorder.next().op == "CREATE"  # the new name appears, as fsnotify said

    last = stat(tmp_path / "b.txt")
    (tmp_path / "b.txt").unlink()
    removed = recorder.until("REMOVE", "b.txt")
    assert removed.stat == last  # the last stat seen: a deterministic id


def test_moves_in_and_out_are_create_and_remove(tmp_path: Path, watched: Any) -> None:
    inside, outside = tmp_path / "in", tmp_path / "out"
    inside.mkdir()
    outside.mkdir()
    (outside / "f").write_text("x")
    recorder = watched(directory=inside)
    (outside / "f").rename(inside / "f")
    assert recorder.until("CREATE", "f").stat == stat(inside / "f")
    (inside / "f").rename(outside / "g")
    assert recorder.until("REMOVE", "f").stat is not None


def test_only_the_configured_operations_and_names(tmp_path: Path, watched: Any) -> None:
    recorder = watched("pathRegexp: '^keep'", types="[CREATE, REMOVE]")
    for name in ("keep-1", "drop-1", "keep-2"):
        (tmp_path / name).write_text(name)
    created = {recorder.next().name, recorder.next().name}  # no WRITE: not configured
    assert created == {"keep-1", "keep-2"}
    for name in ("drop-1", "keep-1", "keep-2"):
        (tmp_path / name).unlink()
    removed = [recorder.next(), recorder.next()]
    assert {(c.op, c.name) for c in removed} == {("REMOVE", "keep-1"), ("REMOVE", "keep-2")}
    with pytest.raises(queue.Empty):
        recorder.next(timeout=0.3)


def test_a_path_is_one_exact_name(tmp_path: Path, watched: Any) -> None:
    recorder = watched("path: x.txt", types="CREATE")
    (tmp_path / "x.txt.tmp").write_text("no")
    (tmp_path / "x.txt").write_text("yes")
    change = recorder.next()
    assert (change.op, change.name) == ("CREATE", "x.txt")


def test_subdirectories_are_reported_not_watched(tmp_path: Path, watched: Any) -> None:
    recorder = watched(types="CREATE")
    (tmp_path / "sub").mkdir()
    change = recorder.until("CREATE", "sub")
    assert change.is_dir
    (tmp_path / "sub" / "deep").write_text("not watched")
    (tmp_path / "top").write_text("watched")
    assert recorder.next().name == "top"


def test_existing_files_as_creates(tmp_path: Path, watched: Any) -> None:
    for name in ("b.txt", "a.txt", "c.log"):
        (tmp_path / name).write_text(name)
    recorder = Recorder()
    text = f"directory: {tmp_path}\ntype: CREATE\npathRegexp: 'txt$'\nemitExisting: true"
    watch = Watch(parse(text), recorder.changes.put, recorder.lost.put)
    existing = watch.existing()
    assert [(c.op, c.name, c.existing) for c in existing] == [
        ("CREATE", "a.txt", True),
        ("CREATE", "b.txt", True),
    ]
    assert existing[0].stat == stat(tmp_path / "a.txt")


def test_the_directory_removed_ends_the_watch(tmp_path: Path, watched: Any) -> None:
    directory = tmp_path / "gone"
    directory.mkdir()
    recorder = watched(types="CREATE", directory=directory)
    shutil.rmtree(directory)
    assert recorder.lost.get(timeout=10) == f"directory: {directory} was removed"


def test_a_missing_directory_is_named(tmp_path: Path) -> None:
    config = parse(f"directory: {tmp_path}/nope\ntype: CREATE\npath: a")
    watch = Watch(config, lambda change: None, lambda reason: None)
    with pytest.raises(Exception, match=f"directory: {tmp_path}/nope does not exist"):
        watch.start()
