"""S3 event notification records as raw events: the one shape shared by every source of them
(MinIO bucket notifications in the artifact kind, StorageGRID's in the storage-grid kind, and
stream sources with ``format: s3``, which carry notifications a bucket sent to a queue).

- ``type``: ``dev.gateways.<kind>.<action>``, the event name without ``s3:``, lower case, dots
  for colons: ``s3:ObjectCreated:Put`` -> ``objectcreated.put``
- ``id``: ``<sequencer>/<key>`` (a UUID when the record has no sequencer). MinIO's sequencer is
  its object's modification time in nanoseconds (hex); the id keeps it to the millisecond, the
  precision of a bucket listing, so an object recovered by listing gets its notification's id
- ``subject``: the object key (decoded where the record carries it URL-encoded)
- ``time``: the record's ``eventTime``
- extensions: ``s3bucket``, ``s3key``, ``s3eventname``, ``s3region``, ``s3size``, ``s3etag``,
  ``s3versionid``, ``s3sequencer`` (as the record has it), ``s3contenttype`` (those the record
  has)
- data: the record, as JSON
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import unquote_plus

from gateways.source import Emit, RawEvent

MINIO = "minio:s3"  # a record's eventSource when MinIO sent it
FORMATS = frozenset({"raw", "s3"})  # a stream source's ``format``: its messages as they are, or S3
_NANOS_PER_MILLI = 1_000_000
_HEX = re.compile(r"[0-9A-Fa-f]{1,16}")
log = logging.getLogger(__name__)


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


def object_key(record: Mapping[str, Any], *, encoded: bool = True) -> str:
    """The record's key; ``encoded``: as S3 and MinIO's targets send it, URL-encoded (MinIO's
    listen API sends it as it is)."""
    key = str(_object(record).get("key") or "")
    return unquote_plus(key) if encoded else key


def minio_sequencer(nanoseconds: int) -> str:
    """MinIO's sequencer for a modification time: its nanoseconds since the epoch, in hex."""
    return f"{nanoseconds:X}"


def id_sequencer(record: Mapping[str, Any]) -> str:
    """The sequencer as the id uses it: MinIO's to the millisecond, any other unchanged."""
    sequencer = str(_object(record).get("sequencer") or "")
    if record.get("eventSource") != MINIO or not _HEX.fullmatch(sequencer):
        return sequencer
    nanoseconds = int(sequencer, 16)
    return minio_sequencer(nanoseconds - nanoseconds % _NANOS_PER_MILLI)


def raw_event(
    record: Mapping[str, Any], region: str | None = None, *, encoded: bool = True
) -> RawEvent:
    """The record as a raw event; ``encoded`` says how its key is sent (:func:`object_key`)."""
    s3 = record.get("s3") or {}
    obj = _object(record)
    key = object_key(record, encoded=encoded)
    event_name = str(record.get("eventName") or "")
    sequencer = id_sequencer(record)
    extensions = {
        "s3bucket": str((s3.get("bucket") or {}).get("name") or ""),
        "s3key": key,
        "s3eventname": event_name,
        "s3region": str(record.get("awsRegion") or region or ""),
        "s3size": str(obj.get("size") if obj.get("size") is not None else ""),
        "s3etag": str(obj.get("eTag") or ""),
        "s3versionid": str(obj.get("versionId") or ""),
        "s3sequencer": str(obj.get("sequencer") or ""),
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


def split(message: RawEvent) -> list[RawEvent] | None:
    """The records of the S3 notification a stream message carries, each its own raw event
    that keeps the message's extensions; None when the message is not an S3 notification."""
    try:
        notification = json.loads(message.payload)
    except ValueError:
        return None
    if not isinstance(notification, Mapping) or not isinstance(notification.get("Records"), list):
        return None
    events = []
    for record in records_of(notification):
        event = raw_event(record)
        events.append(
            dataclasses.replace(event, extensions={**message.extensions, **event.extensions})
        )
    return events


def per_record(emit: Emit, label: str) -> Emit:
    """``emit`` for a stream source with ``format: s3``: each record of a notification is
    emitted in turn, and the message counts as delivered once all were (a failure raises, so
    the message is redelivered, records already delivered included, with the same ids). A
    message that is not an S3 notification travels as it is, with a warning."""

    async def emitting(message: RawEvent) -> None:
        events = split(message)
        if events is None:
            log.warning(
                "%s: %s is not an S3 event notification; sent as it is", label, message.subject
            )
            await emit(message)
            return
        for event in events:
            await emit(event)

    return emitting


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
