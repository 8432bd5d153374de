"""Recorded events and source counters as JSON for the status page and ``gateways tail``.

Nothing secret leaves here: header values, query parameters and extensions whose names say
credential (token, signature, cookie, ...) are replaced by ``(redacted)``. Credentials the
webhook checks (Authorization) never reach a CloudEvent; a signature or API-key header does,
in the ``httpheaders`` extension watchers get, but is not shown to whoever opens the page.
Data is cut to :data:`~gateways.observe.recent.DATA_KEPT` bytes.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

from gateways.observe.recent import DATA_KEPT, RATE_BUCKETS, RATE_STEP, Entry, SourceLog

REDACTED = "(redacted)"
SECRET_NAME = re.compile(
    r"auth|token|secret|passw|pwd|signature|sig$|cookie|credential|api.?key|session|private",
    re.IGNORECASE,
)
ATTRIBUTE_SHOWN = 2048  # characters of one attribute value


def stamp(seconds: float) -> str:
    when = datetime.fromtimestamp(seconds, UTC)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def outcome(entry: Entry) -> str:
    """delivered, dead-lettered or failed."""
    report = entry.report
    if report is None or not report.ok:
        return "failed"
    return "dead-lettered" if report.dead_lettered else "delivered"


def entry_json(entry: Entry) -> dict[str, Any]:
    origin = entry.origin
    document: dict[str, Any] = {
        "seq": entry.seq,
        "time": stamp(entry.finished),
        "gateway": origin.gateway,
        "source": origin.source,
        "kind": origin.kind,
        "outcome": outcome(entry),
        "attributes": attributes_json(entry.attributes or {}),
    }
    if entry.error is not None:
        document["error"] = entry.error[:ATTRIBUTE_SHOWN]
    if entry.report is not None:
        document["watchers"] = [
            {
                "url": o.url,
                "ok": o.ok,
                "status": o.status,
                "attempts": o.attempts,
                "deadLettered": o.dead_lettered,
                **({"error": o.error[:ATTRIBUTE_SHOWN]} if o.error else {}),
            }
            for o in entry.report.outcomes
        ]
    if entry.data is not None:
        document.update(data_json(entry.data, entry.size))
    return document


def data_json(kept: bytes, size: int) -> dict[str, Any]:
    """The first DATA_KEPT bytes as text, or as base64 when they are not UTF-8."""
    shown = kept[:DATA_KEPT]
    document: dict[str, Any] = {"dataSize": size, "dataTruncated": size > len(shown)}
    try:
        document["data"] = shown.decode("utf-8")
    except UnicodeDecodeError as exc:
        if document["dataTruncated"] and exc.start >= len(shown) - 3:  # a character cut in two
            document["data"] = shown[: exc.start].decode("utf-8", "replace")
        else:
            document["dataBase64"] = base64.b64encode(shown).decode("ascii")
    return document


def attributes_json(attributes: Mapping[str, Any]) -> dict[str, Any]:
    shown: dict[str, Any] = {}
    for name, value in attributes.items():
        if SECRET_NAME.search(name):
            shown[name] = REDACTED
        elif name == "httpheaders" and isinstance(value, str):
            shown[name] = _headers(value)
        elif name == "httpquery" and isinstance(value, str):
            shown[name] = _query(value)
        elif isinstance(value, str) and len(value) > ATTRIBUTE_SHOWN:
            shown[name] = value[:ATTRIBUTE_SHOWN] + "..."
        else:
            shown[name] = value
    return shown


def _headers(text: str) -> str:
    try:
        headers = json.loads(text)
    except ValueError:
        return REDACTED  # not the JSON the webhook writes: nothing to tell secret from not
    if not isinstance(headers, dict):
        return REDACTED
    kept = {
        str(name): REDACTED if SECRET_NAME.search(str(name)) else _cut(value)
        for name, value in headers.items()
    }
    return json.dumps(kept, sort_keys=True)


def _query(text: str) -> str:
    """The query string as sent, with the values of secret-named parameters replaced."""
    pairs = []
    for pair in text.split("&"):
        name = pair.partition("=")[0]
        pairs.append(f"{name}={REDACTED}" if SECRET_NAME.search(unquote_plus(name)) else pair)
    shown = "&".join(pairs)
    return shown if len(shown) <= ATTRIBUTE_SHOWN else shown[:ATTRIBUTE_SHOWN] + "..."


def _cut(value: Any) -> Any:
    if isinstance(value, str) and len(value) > ATTRIBUTE_SHOWN:
        return value[:ATTRIBUTE_SHOWN] + "..."
    return value


def counts_json(log: SourceLog | None) -> dict[str, Any]:
    if log is None:
        return {"received": 0, "delivered": 0, "failed": 0, "deadLettered": 0, "inFlight": 0}
    counts: dict[str, Any] = {
        "received": log.received,
        "delivered": log.delivered,
        "failed": log.failed,
        "deadLettered": log.dead_lettered,
        "inFlight": log.in_flight,
    }
    if log.last:
        counts["last"] = stamp(log.last)
    return counts


def rate_json(log: SourceLog | None, now: float) -> dict[str, Any]:
    """Events per RATE_STEP seconds over the last RATE_BUCKETS steps, oldest first."""
    counts = log.rate(now) if log is not None else [0] * RATE_BUCKETS
    return {"step": RATE_STEP, "end": stamp(now), "counts": counts}
