"""MinIO notification records as raw events; every record of a notification is its own event.

MinIO's listen API sends one record per line, so no real notification with several records can
be produced against the server; the one here has several, as S3 and MinIO's webhook targets
deliver them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.artifact.message import raw_events
from gateways.config import parse_source
from gateways.events.s3 import action_of, event_matches, raw_event, records_of


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


def test_the_action_is_the_event_name_without_s3() -> None:
    assert action_of("s3:ObjectCreated:Put") == "objectcreated.put"
    assert action_of("s3:ObjectRemoved:DeleteMarkerCreated") == "objectremoved.deletemarkercreated"
    assert action_of("s3:BucketCreated") == "bucketcreated"


@pytest.mark.parametrize(
    ("name", "patterns", "expected"),
    [
        ("s3:ObjectCreated:Put", ["s3:ObjectCreated:*"], True),
        ("s3:ObjectCreated:Put", ["s3:ObjectCreated:Put"], True),
        ("s3:ObjectCreated:Copy", ["s3:ObjectCreated:Put"], False),
        ("s3:ObjectRemoved:Delete", ["s3:ObjectCreated:*"], False),
        ("s3:ObjectRemoved:Delete", ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"], True),
    ],
)
def test_event_names_match_exactly_or_by_a_trailing_star(
    name: str, patterns: list[str], expected: bool
) -> None:
    assert event_matches(name, patterns) is expected


def test_one_record_as_a_raw_event() -> None:
    record = s3_record("reports/q1%2B.csv", "17B0000000000009")
    record["awsRegion"] = "eu-west-1"
    record["s3"]["object"] |= {"versionId": "v7", "contentType": "text/csv"}
    raw = raw_event(record)

    assert raw.id == "17B0000000000009/reports/q1+.csv"
    assert raw.subject == "reports/q1+.csv"  # decoded; the record keeps it URL-encoded
    assert raw.action == "objectcreated.put"
    assert raw.time == datetime(2024, 3, 10, 12, 0, tzinfo=UTC)
    assert raw.content_type == "application/json"
    assert json.loads(raw.payload) == record
    assert raw.extensions == {
        "s3bucket": "uploads",
        "s3key": "reports/q1+.csv",
        "s3eventname": "s3:ObjectCreated:Put",
        "s3region": "eu-west-1",
        "s3size": "5",
        "s3etag": "abc",
        "s3versionid": "v7",
        "s3sequencer": "17B0000000000009",
        "s3contenttype": "text/csv",
    }


def test_a_sparse_record_has_no_id_and_only_the_extensions_it_can_fill() -> None:
    record = {"eventName": "s3:ObjectRemoved:Delete", "eventTime": "not a time"}
    record["s3"] = {"bucket": {"name": "uploads"}, "object": {"key": "gone.txt", "size": 0}}
    raw = raw_event(record, region="us-east-1")

    assert raw.id is None  # the builder gives it a UUID
    assert raw.time is None
    assert raw.action == "objectremoved.delete"
    assert raw.extensions == {
        "s3bucket": "uploads",
        "s3key": "gone.txt",
        "s3eventname": "s3:ObjectRemoved:Delete",
        "s3region": "us-east-1",  # the config's region when the record names none
        "s3size": "0",
    }


def test_records_that_are_not_mappings_are_skipped() -> None:
    notification = {"Records": ["junk", None, s3_record("a.txt", "1")]}
    assert [record["s3"]["object"]["key"] for record in records_of(notification)] == ["a.txt"]
    assert records_of({}) == [] and records_of({"Records": None}) == []
