"""S3 event notification records as raw events: the one shape shared by every source of them
(MinIO bucket notifications in the artifact kind, StorageGRID's in the storage-grid kind).

- ``type``: ``dev.gateways.<kind>.<action>``, the event name without ``s3:``, lower case, dots
  for colons: ``s3:ObjectCreated:Put`` -> ``objectcreated.put``
- ``id``: ``<s3.object.sequencer>/<key>`` (a UUID when the record has no sequencer)
- ``subject``: the object key (decoded; the record carries it URL-encoded)
- ``time``: the record's ``eventTime``
- extensions: ``s3bucket``, ``s3key``, ``s3eventname``, ``s3region``, ``s3size``, ``s3etag``,
  ``s3versionid``, ``s3sequencer``, ``s3contenttype`` (those the record has)
- data: the record, as JSON
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import unquote_plus

from gateways.source import RawEvent


def action_of(event_name: str) -> str:
    return event_name.removeprefix("s3:").replace(":", ".").lower()


def event_matches(event_name: str, patterns: Iterable[str]) -> bool:
    """``s3:ObjectCreated:*`` matches every ``s3:ObjectCreated:...`` name."""
    return any(
        event_name.startswith(p[:-1]) if p.endswith("*") else event_name == p for p in patterns
    )


def records_of(notification: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    records = notification.get("Records") or []
    return [record for record in records if isinstance(record, Mapping)]


def object_key(record: Mapping[str, Any]) -> str:
    return unquote_plus(str(_object(record).get("key") or ""))


def raw_event(record: Mapping[str, Any], region: str | None = None) -> RawEvent:
    s3 = record.get("s3") or {}
    obj = _object(record)
    key = object_key(record)
    event_name = str(record.get("eventName") or "")
    sequencer = str(obj.get("sequencer") or "")
    extensions = {
        "s3bucket": str((s3.get("bucket") or {}).get("name") or ""),
        "s3key": key,
        "s3eventname": event_name,
        "s3region": str(record.get("awsRegion") or region or ""),
        "s3size": str(obj.get("size") if obj.get("size") is not None else ""),
        "s3etag": str(obj.get("eTag") or ""),
        "s3versionid": str(obj.get("versionId") or ""),
        "s3sequencer": sequencer,
        "s3contenttype": str(obj.get("contentType") or ""),
    }
    return RawEvent(
        payload=json.dumps(record, separators=(",", ":")).encode(),
        content_type="application/json",
        id=f"{sequencer}/{key}" if sequencer else None,
        subject=key,
        time=_time(record.get("eventTime")),
        action=action_of(event_name) if event_name else None,
        extensions={name: value for name, value in extensions.items() if value},
    )


def _object(record: Mapping[str, Any]) -> Mapping[str, Any]:
    s3 = record.get("s3") or {}
    obj = s3.get("object") if isinstance(s3, Mapping) else None
    return obj if isinstance(obj, Mapping) else {}


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
