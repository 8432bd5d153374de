"""S3 notification records as raw events, whichever way they arrive: MinIO's listen API (keys
as they are), a bucket target's message on a stream (keys URL-encoded, several records per
message), or a bucket listing (the listen path's reconciliation). All three give one object
the same subject and id.

MinIO's listen API sends one record per line, so no real notification with several records can
be produced against the server; the ones here have several, as S3 and MinIO's targets send them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.artifact.message import raw_events
from adapters.artifact.reconcile import Listed, listed_event
from gateways.events.s3 import action_of, event_matches, raw_event, records_of, split
from gateways.source import RawEvent
from tests.kinds.artifact.kit import config

# MinIO's sequencer: the object's modification time in nanoseconds, hex (12:00:00.123456789).
SEQUENCER = "180FCF0493904D15"
MILLISECOND = "180FCF04938954C0"  # the same time to the millisecond: what an id keeps
MODIFIED = datetime(2024, 12, 10, 12, 0, 0, 123000, tzinfo=UTC)


def s3_record(
    key: str, sequencer: str = SEQUENCER, event_name: str = "s3:ObjectCreated:Put"
) -> dict[str, Any]:
    return {
        "eventVersion": "2.0",
        "eventSource": "minio:s3",
        "awsRegion": "",
        "eventTime": "2024-12-10T12:00:00.124Z",
        "eventName": event_name,
        "s3": {
            "bucket": {"name": "uploads"},
            "object": {"key": key, "size": 5, "eTag": "abc", "sequencer": sequencer},
        },
    }


def test_every_record_of_a_listen_notification_is_an_event() -> None:
    notification = {
        "Records": [
            s3_record("in/first file+1%.txt", "17B0000000000001"),
            s3_record("out/skipped.txt", "17B0000000000002"),
            s3_record("in/second.txt", "17B0000000000003"),
            s3_record("in/removed.txt", "17B0000000000004", "s3:ObjectRemoved:Delete"),
        ]
    }
    emitted = raw_events(notification, config(filter={"prefix": "in/"}))

    # The listen API sends keys as they are: nothing is decoded.
    assert [raw.subject for raw in emitted] == ["in/first file+1%.txt", "in/second.txt"]
    assert [raw.id for raw in emitted] == [
        "17AFFFFFFFF99F40/in/first file+1%.txt",  # 0x17B0000000000001 to the millisecond
        "17AFFFFFFFF99F40/in/second.txt",
    ]
    assert all(raw.action == "objectcreated.put" for raw in emitted)
    assert emitted[0].extensions["s3key"] == "in/first file+1%.txt"
    assert emitted[0].extensions["s3sequencer"] == "17B0000000000001"  # as MinIO sent it


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


def test_one_url_encoded_record_as_a_raw_event() -> None:
    record = s3_record("reports/q1%2B+2.csv")
    record["awsRegion"] = "eu-west-1"
    record["s3"]["object"] |= {"versionId": "v7", "contentType": "text/csv"}
    raw = raw_event(record)

    assert raw.id == f"{MILLISECOND}/reports/q1+ 2.csv"
    assert raw.subject == "reports/q1+ 2.csv"  # decoded; the record keeps it URL-encoded
    assert raw.action == "objectcreated.put"
    assert raw.time == datetime(2024, 12, 10, 12, 0, 0, 124000, tzinfo=UTC)
    assert raw.content_type == "application/json"
    assert json.loads(raw.payload) == record
    assert raw.extensions == {
        "s3bucket": "uploads",
        "s3key": "reports/q1+ 2.csv",
        "s3eventname": "s3:ObjectCreated:Put",
        "s3region": "eu-west-1",
        "s3size": "5",
        "s3etag": "abc",
        "s3versionid": "v7",
        "s3sequencer": SEQUENCER,
        "s3contenttype": "text/csv",
    }


def test_only_minio_sequencers_are_kept_to_the_millisecond() -> None:
    aws = s3_record("a.txt", "0055AED6DCD90281E5") | {"eventSource": "aws:s3"}
    grid = s3_record("a.txt", "1A2B3C4D5E6F7A8B") | {"eventSource": "sgws:s3"}
    odd = s3_record("a.txt", "not-hex")
    assert raw_event(aws).id == "0055AED6DCD90281E5/a.txt"
    assert raw_event(grid).id == "1A2B3C4D5E6F7A8B/a.txt"
    assert raw_event(odd).id == "not-hex/a.txt"


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


def test_a_stream_message_of_a_bucket_target_is_split_into_its_records() -> None:
    # MinIO's targets send {"EventName", "Key", "Records"}, keys URL-encoded.
    body = {
        "EventName": "s3:ObjectCreated:Put",
        "Key": "uploads/a b.txt",
        "Records": [s3_record("a+b.txt"), s3_record("c.txt", "180FCF0493904D16")],
    }
    message = RawEvent(
        payload=json.dumps(body).encode(),
        id="MINIO:7",
        subject="minio.events",
        action="message",
        extensions={"natsstream": "MINIO", "natssequence": "7"},
        headers={"Nats-Msg-Id": "x"},
        binding="nats",
    )
    events = split(message)

    assert events is not None
    assert [e.subject for e in events] == ["a b.txt", "c.txt"]
    assert [e.id for e in events] == [f"{MILLISECOND}/a b.txt", f"{MILLISECOND}/c.txt"]
    assert all(e.action == "objectcreated.put" for e in events)
    assert all(e.binding == "none" and not e.headers for e in events)  # not a CloudEvent
    assert events[0].extensions["natsstream"] == "MINIO"  # the stream's metadata stays
    assert events[0].extensions["s3key"] == "a b.txt"


@pytest.mark.parametrize("payload", [b"not json", b"[1, 2]", b'{"Records": null}', b"{}"])
def test_a_message_that_is_no_notification_is_not_split(payload: bytes) -> None:
    assert split(RawEvent(payload=payload)) is None


def test_a_listed_object_gets_the_id_its_notification_has() -> None:
    listed = Listed("in/a b+c%.txt", MODIFIED, 5, "abc", "text/plain")
    from_listing = listed_event(listed, config())
    from_listen = raw_events({"Records": [s3_record("in/a b+c%.txt")]}, config())[0]
    from_target = raw_event(s3_record("in%2Fa+b%2Bc%25.txt"))

    assert from_listing.id == from_listen.id == from_target.id
    assert from_listing.subject == from_listen.subject == from_target.subject == "in/a b+c%.txt"
    assert from_listing.action == "objectcreated.put"
    assert from_listing.time == MODIFIED
    assert from_listing.extensions["s3listed"] == "true"
    assert from_listing.extensions["s3contenttype"] == "text/plain"
    record = json.loads(from_listing.payload)
    assert record["eventName"] == "s3:ObjectCreated:Put"
    assert record["eventTime"] == "2024-12-10T12:00:00.123Z"
    assert record["s3"]["object"]["sequencer"] == MILLISECOND


def test_a_listed_multipart_object_is_a_completed_multipart_upload() -> None:
    listed = Listed("big.bin", MODIFIED, 6 << 20, "93ed904f6e5079065fad23eacec4fc01-2")
    raw = listed_event(listed, config())
    assert raw.action == "objectcreated.completemultipartupload"
