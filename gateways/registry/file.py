"""The file backend: a YAML file of ConfigMaps, watched for edits (the embedded default).

The file is polled (stat, then a content hash), which works with every editor, including
those that replace the file instead of writing it in place, and on every filesystem.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import yaml

from gateways import yamltext
from gateways.registry.model import Gateway, gateways_from_documents

log = logging.getLogger(__name__)
OnChange = Callable[[list[Gateway], list[str]], Awaitable[None]]


def load_file(path: Path, default_kind: str | None = None) -> tuple[list[Gateway], list[str]]:
    """Every gateway in the file, plus the problems of what could not be read."""
    try:
        content = path.read_bytes()
    except OSError as exc:
        return [], [f"{path}: cannot read: {exc.strerror}"]
    return load_bytes(content, str(path), default_kind)


def load_bytes(
    content: bytes, label: str, default_kind: str | None = None
) -> tuple[list[Gateway], list[str]]:
    try:
        text = yamltext.decode(content)
    except yaml.YAMLError as exc:
        return [], [f"{label}: {exc}"]
    return load_text(text, label, default_kind)


def load_text(
    text: str, label: str, default_kind: str | None = None
) -> tuple[list[Gateway], list[str]]:
    """The gateways of a YAML stream of ConfigMaps; bounded (see :mod:`gateways.yamltext`)."""
    try:
        documents = yamltext.load_all(text)
    except yaml.YAMLError as exc:
        document = getattr(exc, "document", 0)
        where = f"document {document}: " if document else ""
        return [], [f"{label}: {where}not valid YAML: {exc}"]
    return gateways_from_documents(documents, default_kind, label)


class FileRegistry:
    def __init__(
        self,
        path: Path,
        on_change: OnChange,
        default_kind: str | None = None,
        poll_seconds: float = 0.5,
        on_unreadable: Callable[[list[str]], None] = lambda problems: None,
    ) -> None:
        self.path = path
        self.on_change = on_change
        # Told the problems of an edit that could not be read at all (what runs keeps running).
        self.on_unreadable = on_unreadable
        self.default_kind = default_kind
        self.poll_seconds = poll_seconds
        self._stamp: tuple[int, int, int] | None = None
        self._digest: str | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._check()
        self._task = asyncio.create_task(self._watch(), name=f"watch {self.path}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.poll_seconds)
            try:
                await self._check()
            except Exception:  # the watch must outlive any one bad reload
                log.exception("registry reload of %s failed", self.path)

    async def _check(self) -> None:
        try:
            info = self.path.stat()
            stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
        except OSError:
            stamp = (0, 0, 0)
        if stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            content = self.path.read_bytes()
        except OSError as exc:
            problem = f"{self.path}: cannot read: {exc.strerror}"
            log.error("registry %s; keeping the sources that run", problem)
            if self._digest is None:  # nothing runs yet: say so on the status page too
                await self.on_change([], [problem])
            return
        digest = hashlib.sha256(content).hexdigest()
        if digest == self._digest:
            return
        # In a thread: a large edit must not hold up requests being served meanwhile.
        gateways, problems = await asyncio.to_thread(
            load_bytes, content, str(self.path), self.default_kind
        )
        if not gateways and problems and self._digest is not None:
            # An unreadable edit (half-saved, bad YAML) must not stop everything that runs.
            log.error(
                "registry %s: %s; keeping the sources that run", self.path, "; ".join(problems)
            )
            self.on_unreadable([f"{p} (the sources that ran keep running)" for p in problems])
            return
        self._digest = digest
        await self.on_change(gateways, problems)
