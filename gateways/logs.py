"""Log output: text lines for a terminal, or one JSON object per line for log pipelines.

``GATEWAYS_LOG_FORMAT=json`` writes each record as ``{"time", "level", "logger", "message"}``
plus, when known, ``gateway``, ``source``, ``kind`` and ``event_id`` (and ``exception`` with
its traceback as one string): the shape Knative's components give log collectors. The
context comes from a log call's ``extra`` or from :func:`bind`, which the places that handle
one source's events call (each such handling runs in a task of its own, so the binding ends
with it). Messages never hold secret values; this module adds none.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, TextIO

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FIELDS = ("gateway", "source", "kind", "event_id")

_context: ContextVar[Mapping[str, str]] = ContextVar(
    "gateways_log_context", default=MappingProxyType({})
)


def bind(**fields: str | None) -> Token[Mapping[str, str]]:
    """Add ``fields`` (of :data:`FIELDS`) to the context of the current task's log records."""
    merged = dict(_context.get())
    merged.update({name: value for name, value in fields.items() if value})
    return _context.set(merged)


def unbind(token: Token[Mapping[str, str]]) -> None:
    _context.reset(token)


def bound() -> Mapping[str, str]:
    return _context.get()


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": _rfc3339(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        context = _context.get()
        for name in FIELDS:
            value = getattr(record, name, None) or context.get(name)
            if value:
                document[name] = str(value)
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            document["stack"] = self.formatStack(record.stack_info)
        return json.dumps(document, ensure_ascii=False, default=str)


def configure(level: str, log_format: str = "text", stream: TextIO | None = None) -> None:
    """Send every record at ``level`` or above to ``stream`` (stderr) in ``log_format``."""
    handler = logging.StreamHandler(stream or sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
        # Python's warnings would otherwise be bare lines on stderr.
        logging.captureWarnings(True)
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)


def _rfc3339(created: float) -> str:
    moment = datetime.fromtimestamp(created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
