"""File source config: one directory, the operations to report, and the names to report them for.

Seed-era fields first: ``directory`` (absolute), ``type`` (CREATE, WRITE, REMOVE, RENAME or
CHMOD; a list of them is accepted too) and either ``path`` (one name in the directory, matched
exactly) or ``pathRegexp`` (searched in the name, as Go's ``MatchString`` did: anchor it with
``^...$`` to match the whole name). The directory is watched without its subdirectories, as the
seed's fsnotify watch was.

Added: ``polling`` (a snapshot every ``pollInterval`` instead of inotify, for network
filesystems such as NFS or SMB where inotify sees only local changes), ``emitExisting`` (on every
start, a CREATE for each matching file already present) and ``backoff`` (between restarts of the
watch, and between retries of an event the dispatcher did not take; ``steps`` bounds both).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import timedelta

from gateways.config.common import Backoff
from gateways.config.fields import Fields

OPERATIONS = ("CREATE", "WRITE", "REMOVE", "RENAME", "CHMOD")
DEFAULT_POLL_INTERVAL = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class FileConfig:
    directory: str
    types: frozenset[str]
    path: str | None = None
    path_regexp: re.Pattern[str] | None = None
    polling: bool = False
    poll_interval: timedelta = DEFAULT_POLL_INTERVAL
    emit_existing: bool = False
    backoff: Backoff = field(default_factory=Backoff)

    def matches(self, name: str) -> bool:
        """True when ``name`` (relative to the directory) is one this source reports."""
        if self.path is not None:
            return name == self.path
        return self.path_regexp is not None and self.path_regexp.search(name) is not None

    @classmethod
    def parse(cls, fields: Fields) -> FileConfig:
        directory = _directory(fields)
        types = _types(fields)
        path = _path(fields)
        path_regexp = _regexp(fields)
        if path is not None and path_regexp is not None:
            fields.problem("path", "give path or pathRegexp, not both")
        elif not fields.has("path") and not fields.has("pathRegexp"):
            fields.problem("path", "a path or a pathRegexp is required")
        polling = fields.bool("polling")
        poll_interval = fields.duration("pollInterval", DEFAULT_POLL_INTERVAL)
        if fields.has("pollInterval") and not polling:
            fields.problem("pollInterval", "applies only with polling: true")
        if poll_interval is None or poll_interval <= timedelta(0):
            fields.problem("pollInterval", "must be positive")
            poll_interval = DEFAULT_POLL_INTERVAL
        emit_existing = fields.bool("emitExisting")
        if emit_existing and types and "CREATE" not in types:
            fields.problem("emitExisting", "emits CREATE events, but type does not include CREATE")
        return cls(
            directory=directory,
            types=types,
            path=path,
            path_regexp=path_regexp,
            polling=polling,
            poll_interval=poll_interval,
            emit_existing=emit_existing,
            backoff=Backoff.parse(fields),
        )


def _directory(fields: Fields) -> str:
    text = fields.required_str("directory").strip()
    if text and not os.path.isabs(text):
        fields.problem("directory", f"{text!r} is not an absolute path")
    return os.path.normpath(text) if text else ""


def _types(fields: Fields) -> frozenset[str]:
    if not fields.has("type"):
        fields.problem("type", f"is required (one of {', '.join(OPERATIONS)})")
        return frozenset()
    names = [name.strip().upper() for name in fields.str_list("type")]
    if not names and fields.get("type") == []:
        fields.problem("type", f"needs at least one of {', '.join(OPERATIONS)}")
    for name in names:
        if name not in OPERATIONS:
            fields.problem("type", f"{name!r} is not one of {', '.join(OPERATIONS)}")
    return frozenset(name for name in names if name in OPERATIONS)


def _path(fields: Fields) -> str | None:
    text = fields.str("path")
    if text is None:
        return None
    name = text.strip()
    if not name:
        fields.problem("path", "must name a file in the directory")
        return None
    if "/" in name:
        fields.problem(
            "path", f"{text!r}: a name in the directory (subdirectories are not watched)"
        )
    return name


def _regexp(fields: Fields) -> re.Pattern[str] | None:
    text = fields.str("pathRegexp")
    if text is None:
        return None
    if not text:
        fields.problem("pathRegexp", "must not be empty")
        return None
    try:
        return re.compile(text)
    except re.error as exc:
        fields.problem("pathRegexp", f"{text!r} is not a regular expression: {exc}")
        return None
