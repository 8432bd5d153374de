"""The watch of one directory through watchdog: inotify, or snapshots for network filesystems.

:class:`Watch` runs on watchdog's threads: its handler turns watchdog's events into
:class:`~adapters.file.message.Change` values for the configured operations and names and hands
each to ``deliver`` (which may block the observer's thread: that is the backpressure; watchdog
keeps reading the kernel's events meanwhile). watchdog's events map to the seed's operations:
created CREATE, modified WRITE, attributes changed CHMOD, deleted REMOVE, and a move inside the
directory RENAME (both names) plus CREATE of the new name, as fsnotify reported a rename on
Linux. A file moved in reads as CREATE, moved out as REMOVE.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable

from watchdog.events import (
    EVENT_TYPE_ATTRIB,
    EVENT_TYPE_CREATED,
    EVENT_TYPE_DELETED,
    EVENT_TYPE_MODIFIED,
    EVENT_TYPE_MOVED,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from adapters.file.config import FileConfig
from adapters.file.message import Change, Stat
from gateways.errors import GatewayError

JOIN_WITHIN = 5.0
_OPERATIONS = {
    EVENT_TYPE_CREATED: "CREATE",
    EVENT_TYPE_MODIFIED: "WRITE",
    EVENT_TYPE_ATTRIB: "CHMOD",
    EVENT_TYPE_DELETED: "REMOVE",
}


class Watch(FileSystemEventHandler):
    def __init__(
        self,
        config: FileConfig,
        deliver: Callable[[Change], None],
        lost: Callable[[str], None],
    ) -> None:
        self.config = config
        self.directory = config.directory
        self._deliver = deliver
        self._lost = lost
        self._observer: BaseObserver | None = None
        self._seen: dict[str, Stat] = {}  # the last stat of each reported name (REMOVE's id)
        self._lock = threading.Lock()

    @property
    def alive(self) -> bool:
        return self._observer is not None and self._observer.is_alive()

    def start(self) -> None:
        """Watch from now on (blocking); GatewayError when the directory cannot be watched."""
        if not os.path.isdir(self.directory):
            raise GatewayError(f"directory: {self.directory} does not exist or is not a directory")
        if self.config.polling:
            observer: BaseObserver = PollingObserver(
                timeout=self.config.poll_interval.total_seconds()
            )
        else:
            observer = Observer()
        observer.name = f"file-watch {self.directory}"
        observer.daemon = True
        try:
            observer.schedule(self, self.directory, recursive=False)
            observer.start()
        except OSError as exc:
            with contextlib.suppress(Exception):
                observer.stop()
            raise GatewayError(f"directory: cannot watch {self.directory}: {exc}") from exc
        self._observer = observer

    def stop(self) -> None:
        observer, self._observer = self._observer, None
        if observer is not None:
            observer.stop()
            if observer is not threading.current_thread():
                observer.join(JOIN_WITHIN)

    def existing(self) -> list[Change]:
        """CREATE for each matching file present now, in name order (emitExisting)."""
        changes = []
        with os.scandir(self.directory) as entries:
            found = sorted(entries, key=lambda entry: entry.name)
        for entry in found:
            if not self.config.matches(entry.name):
                continue
            try:
                stat = Stat.of(entry.stat(follow_symlinks=False))
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue  # gone already: its REMOVE follows
            with self._lock:
                self._seen.setdefault(entry.name, stat)
            changes.append(Change("CREATE", self.directory, entry.name, is_dir, None, stat, True))
        return changes

    def dispatch(self, event: FileSystemEvent) -> None:
        """watchdog's one entry point (on its thread): everything else is ignored."""
        source = os.fsdecode(event.src_path)
        if event.event_type == EVENT_TYPE_MOVED:
            self._moved(source, os.fsdecode(event.dest_path), event.is_directory)
            return
        operation = _OPERATIONS.get(event.event_type)
        if operation is None:
            return  # opened, closed: not the seed's operations
        if source == self.directory:
            if operation == "REMOVE":
                self._lost(f"directory: {self.directory} was removed")
            return  # the directory's own modification is a change of one of its files
        name = self._name(source)
        if name is None or not self.config.matches(name):
            return
        if operation == "REMOVE":
            with self._lock:
                stat = self._seen.pop(name, None)
        else:
            stat = self._stat(name)
        self._report(Change(operation, self.directory, name, event.is_directory, None, stat))

    def _moved(self, source: str, destination: str, is_dir: bool) -> None:
        old, new = self._name(source), self._name(destination)
        if old is None or new is None:
            return  # moves in and out come as created and deleted
        stat = self._stat(new)
        with self._lock:
            self._seen.pop(old, None)
        if self.config.matches(old) or self.config.matches(new):
            self._report(Change("RENAME", self.directory, new, is_dir, old, stat))
        if self.config.matches(new):
            self._report(Change("CREATE", self.directory, new, is_dir, None, stat))

    def _report(self, change: Change) -> None:
        if change.op in self.config.types:
            self._deliver(change)

    def _name(self, path: str) -> str | None:
        """The name in the watched directory, or None for a path elsewhere."""
        parent, name = os.path.split(path)
        return name if parent == self.directory and name else None

    def _stat(self, name: str) -> Stat | None:
        try:
            stat = Stat.of(os.stat(os.path.join(self.directory, name), follow_symlinks=False))
        except OSError:
            return None
        with self._lock:
            if self.config.matches(name):
                self._seen[name] = stat
        return stat
