"""Every record of a notification is its own event.

MinIO's listen API sends one record per line, so no real notification with several records can
be produced here; this one has several, as S3 and MinIO's webhook targets deliver them.
"""

from __future__ import annotations

import json
from typing import Any

from adapters.artifact.message import raw_events
from gateways.config import parse_source


def s3_record(key: str, sequencer: str, event_name: str = "s3:ObjectCreated:Put") -> dict[str, Any]:
    return {
        "eventVersion": "2.0",
        "eventSource": "minio:s3",
        "awsRegion": "",
        "eventTime": "2024-03-10T12:00:00.000Z",
        "eventName": event_name,
        "s3": {
            "bucket": {"name": "uploads"},
            "object": {"key": key, "size": 5, "eTag": "abc", "sequencer": sequencer},
        },
    }


def test_every_record_of_a_notification_is_an_event() -> None:
    config = parse_source(
        "artifact",
        "uploads",
        {
            "endpoint": "127.0.0.1:9000",
            "bucket": {"name": "uploads"},
            "insecure": True,
            "accessKey": {"env": "UNUSED"},
            "secretKey": {"env": "UNUSED"},
            "events": ["s3:ObjectCreated:*"],
            "filter": {"prefix": "in/"},
        },
    )
    notification = {
        "Records": [
            s3_record("in/first%20file.txt", "17B0000000000001"),
            s3_record("out/skipped.txt", "17B0000000000002"),
            s3_record("in/second.txt", "17B0000000000003"),
            s3_record("in/removed.txt", "17B0000000000004", "s3:ObjectRemoved:Delete"),
        ]
    }
    emitted = raw_events(notification, config)

    assert [raw.subject for raw in emitted] == ["in/first file.txt", "in/second.txt"]
    assert [raw.id for raw in emitted] == [
        "17B0000000000001/in/first file.txt",
        "17B0000000000003/in/second.txt",
    ]
    assert all(raw.action == "objectcreated.put" for raw in emitted)
    assert emitted[0].extensions["s3key"] == "in/first file.txt"
    assert json.loads(emitted[0].payload)["s3"]["object"]["key"] == "in/first%20file.txt"
