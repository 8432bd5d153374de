"""MinIO notification records as raw events: every record of a notification is its own event,
named as :mod:`gateways.events.s3` names S3 records (type ``dev.gateways.artifact.<action>``).
MinIO's listen API sends keys as they are, not URL-encoded as its bucket targets do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.artifact.config import ArtifactConfig
from gateways.events.s3 import event_matches, object_key, raw_event, records_of
from gateways.source import RawEvent

__all__ = ["raw_event", "raw_events", "records_of"]


def raw_events(notification: Mapping[str, Any], config: ArtifactConfig) -> list[RawEvent]:
    """One raw event per record that passes the config's filters (MinIO applied them too)."""
    return [
        raw_event(record, config.region, encoded=False)
        for record in records_of(notification)
        if object_key(record, encoded=False).startswith(config.prefix)
        and object_key(record, encoded=False).endswith(config.suffix)
        and event_matches(str(record.get("eventName") or ""), config.events)
    ]
