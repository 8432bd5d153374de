"""StorageGRID notifications -> raw events: the three shapes, the filters, the mapping, and
every way a request can fail to be a notification."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from functions.storage_grid.config import StorageGridConfig
from functions.storage_grid.message import (
    FORM,
    MAX_FORM_FIELDS,
    MAX_PROBLEMS,
    Notification,
    NotificationError,
    is_form,
    raw_events,
    read_notification,
)
from gateways.config import parse_source
from gateways.events.builder import build
from gateways.events.s3 import raw_event as artifact_raw_event
from gateways.function import Request
from gateways.source import Origin
from tests.kinds.storage_grid import documents as doc

pytestmark = pytest.mark.timeout(30)
JSON = "application/json"


def request(body: bytes | dict[str, Any], content_type: str | None = FORM) -> Request:
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    headers = {"content-type": content_type} if content_type is not None else {}
    return Request("POST", "/storagegrid", headers, data)


def config(**fields: Any) -> StorageGridConfig:
    parsed: StorageGridConfig = parse_source(
        "storage-grid", "t", {"hook": {"endpoint": "/"}, **fields}
    )
    return parsed


def refused(req: Request) -> NotificationError:
    with pytest.raises(NotificationError) as caught:
        read_notification(req)
    return caught.value


# ---------------------------------------------------------------------------- the shapes


def test_form_encoded_publish() -> None:
    body = doc.publish_form(doc.event(doc.PUT, doc.DELETE))
    assert body.startswith(b"Action=Publish&Message=%7B%22Records%22")
    found = read_notification(request(body, "application/x-www-form-urlencoded; charset=utf-8"))
    assert found == Notification((doc.PUT, doc.DELETE), publish=True, topic_arn=doc.TOPIC_ARN)


def test_form_message_holding_ampersands_and_equals_signs() -> None:
    # The seed-era gateway unescaped the whole body before splitting it; a key with '&' or '='
    # broke it. Fields are split first and then decoded here.
    tricky = doc.record("a&b=c d.txt", "1")
    found = read_notification(request(doc.publish_form(doc.event(tricky))))
    assert found.records[0]["s3"]["object"]["key"] == "a&b=c d.txt"


def test_sns_envelope_with_message_as_json_text() -> None:
    found = read_notification(request(doc.sns_envelope(doc.event(doc.PUT)), "text/plain"))
    assert found == Notification((doc.PUT,), publish=False, topic_arn=doc.TOPIC_ARN)


def test_seed_era_json_with_message_as_an_object() -> None:
    found = read_notification(request(doc.seed_notification(doc.event(doc.PUT)), JSON))
    assert found == Notification((doc.PUT,), topic_arn=doc.TOPIC_ARN)


def test_the_s3_event_itself() -> None:
    found = read_notification(request(doc.event(doc.AWS_PUT, doc.PUT), "application/json"))
    assert found == Notification((doc.AWS_PUT, doc.PUT))


@pytest.mark.parametrize("content_type", [None, "text/plain; charset=UTF-8", "TEXT/PLAIN"])
def test_shape_sniffed_when_the_type_says_nothing(content_type: str | None) -> None:
    form = request(doc.publish_form(doc.event(doc.PUT)), content_type)
    assert is_form(form) and read_notification(form).publish
    as_json = request(b"  \n" + json.dumps(doc.event(doc.PUT)).encode(), content_type)
    assert not is_form(as_json) and not read_notification(as_json).publish


def test_s3_test_event_has_no_records() -> None:
    assert read_notification(request(doc.publish_form(doc.TEST_EVENT))).records == ()
    assert read_notification(request(doc.sns_envelope(doc.TEST_EVENT), JSON)).records == ()


# ---------------------------------------------------------------------------- the mapping


def test_each_record_is_a_raw_event_named_as_the_artifact_kind_names_them() -> None:
    notification = read_notification(request(doc.publish_form(doc.event(doc.PUT, doc.DELETE))))
    put, delete = raw_events(notification, config())

    assert put.id == "1588FE6F0E2F3A7C/uploads/red flower.jpg"
    assert put.subject == "uploads/red flower.jpg"  # the key, decoded
    assert put.time == datetime(2019, 2, 27, 21, 15, 9, tzinfo=UTC)
    assert put.action == "objectcreated.put"
    assert put.content_type == "application/json"
    assert json.loads(put.payload) == doc.PUT
    assert put.extensions == {
        "s3bucket": "photos",
        "s3key": "uploads/red flower.jpg",
        "s3eventname": "ObjectCreated:Put",
        "s3size": "6",
        "s3etag": "9b2cf535f27731c974343645a3985328",
        "s3sequencer": "1588FE6F0E2F3A7C",
        "snstopicarn": doc.TOPIC_ARN,
    }  # StorageGRID sends no awsRegion, so there is no s3region
    assert (delete.action, delete.extensions["s3eventname"]) == (
        "objectremoved.delete",
        "ObjectRemoved:Delete",
    )
    assert "s3size" not in delete.extensions
    # Exactly the artifact kind's scheme, plus the topic.
    same = artifact_raw_event(doc.PUT)
    assert (same.id, same.subject, same.time, same.action, same.payload) == (
        put.id,
        put.subject,
        put.time,
        put.action,
        put.payload,
    )
    assert {**same.extensions, "snstopicarn": doc.TOPIC_ARN} == put.extensions


def test_the_cloudevent_the_builder_makes() -> None:
    [raw] = raw_events(read_notification(request(doc.event(doc.PUT), JSON)), config())
    event = build(raw, Origin("grid", "uploads", "storage-grid"))
    assert event.type == "dev.gateways.storage-grid.objectcreated.put"
    assert event.source == "/gateways/grid/uploads"
    assert event.id == "1588FE6F0E2F3A7C/uploads/red flower.jpg"
    assert event.attributes["subject"] == "uploads/red flower.jpg"
    assert event.attributes["time"].startswith("2019-02-27T21:15:09")
    assert event.json() == doc.PUT
    assert "snstopicarn" not in event.attributes  # a bare S3 event names no topic


def test_a_redelivered_notification_keeps_its_ids() -> None:
    body = doc.publish_form(doc.event(doc.PUT, doc.COPY))
    first = [raw.id for raw in raw_events(read_notification(request(body)), config())]
    again = [raw.id for raw in raw_events(read_notification(request(body)), config())]
    assert first == again and len(set(first)) == 2


def test_a_record_without_a_sequencer_gets_no_origin_id() -> None:
    [raw] = raw_events(read_notification(request(doc.event(doc.record("k", None)), JSON)), config())
    assert raw.id is None  # the builder gives it a UUID, as the artifact kind's


# ---------------------------------------------------------------------------- the filters


def keys(notification: Notification, cfg: StorageGridConfig) -> list[str | None]:
    return [raw.subject for raw in raw_events(notification, cfg)]


ALL = Notification((doc.PUT, doc.COPY, doc.DELETE, doc.ELSEWHERE))


def test_no_filter_passes_every_record() -> None:
    assert len(keys(ALL, config())) == 4


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        (["ObjectCreated:Put"], ["uploads/red flower.jpg", "archive/2019.tar"]),
        (["s3:ObjectCreated:Put"], ["uploads/red flower.jpg", "archive/2019.tar"]),
        (
            ["s3:ObjectCreated:*"],
            ["uploads/red flower.jpg", "uploads/copy.txt", "archive/2019.tar"],
        ),
        (["ObjectRemoved:*", "ObjectCreated:Copy"], ["uploads/copy.txt", "uploads/old.txt"]),
        (["ObjectRestore:Post"], []),
    ],
)
def test_event_name_filter(events: list[str], expected: list[str]) -> None:
    assert keys(ALL, config(events=events)) == expected


def test_key_filter_on_the_decoded_key() -> None:
    cfg = config(filter={"prefix": "uploads/", "suffix": "flower.jpg"})
    assert keys(ALL, cfg) == ["uploads/red flower.jpg"]
    assert keys(ALL, config(filter={"prefix": "uploads/red f"})) == ["uploads/red flower.jpg"]
    assert keys(ALL, config(filter={"suffix": ".txt"})) == ["uploads/copy.txt", "uploads/old.txt"]


def test_event_and_key_filters_together() -> None:
    cfg = config(events=["ObjectCreated:*"], filter={"prefix": "uploads/"})
    assert keys(ALL, cfg) == ["uploads/red flower.jpg", "uploads/copy.txt"]


# ---------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("body", "code", "says"),
    [
        (b"Action=Publish&Message", "MalformedQueryString", "malformed form body"),
        (b"Action=Publish&&Message=x", "MalformedQueryString", "malformed form body"),
        (b"Action=Publish&Message=\xff\xfe", "MalformedQueryString", "malformed form body"),
        (b"Action=Publish&Action=Publish&Message=%7B%7D", "MalformedQueryString", "repeated"),
        ("&".join(["a=1"] * (MAX_FORM_FIELDS + 1)).encode(), "MalformedQueryString", "malformed"),
        (b"Message=%7B%7D", "InvalidAction", "Action missing"),
        (doc.publish_form(doc.event(doc.PUT), action="Subscribe"), "InvalidAction", "'Subscribe'"),
        (b"Action=Publish&TopicArn=x", "MissingParameter", "needs a Message"),
        (doc.publish_form("not json"), "InvalidParameter", "Message is not JSON"),
        (doc.publish_form("[1, 2]"), "InvalidParameter", "Message is not a JSON object"),
        (doc.publish_form("{" * 100_000), "InvalidParameter", "Message is not JSON"),
        (doc.publish_form({"Service": "S3"}), "InvalidParameter", "has no Records"),
        (doc.publish_form({"Records": {"a": 1}}), "InvalidParameter", "Records is not a list"),
    ],
)
def test_malformed_form_requests(body: bytes, code: str, says: str) -> None:
    error = refused(request(body))
    assert (error.status, error.code) == (400, code)
    assert says in error.message


def test_records_missing_required_fields_are_all_named() -> None:
    broken = doc.record("k", "1")
    del broken["eventName"]
    broken["eventTime"] = "yesterday"
    no_bucket = doc.record("k", "2")
    del no_bucket["s3"]["bucket"]
    no_key = doc.record("", "3")
    no_s3 = {key: value for key, value in doc.PUT.items() if key != "s3"}
    odd_name = doc.record("k", "4", "ObjectCreated:Put\r\nX-Injected: 1")
    records = [doc.PUT, broken, no_bucket, no_key, no_s3, "x", odd_name]
    body = doc.publish_form({"Records": records})
    error = refused(request(body))
    assert (error.status, error.code) == (400, "InvalidParameter")
    assert error.message.split("; ") == [
        "Records[1].eventName: required",
        "Records[1].eventTime: required, an ISO 8601 time",
        "Records[2].s3.bucket.name: required",
        "Records[3].s3.object.key: required",
        "Records[4].s3.bucket.name: required",
        "Records[4].s3.object.key: required",
        "Records[5]: not an object",
        "Records[6].eventName: 'ObjectCreated:Put\\r\\nX-Injected: 1' is not an S3 event name",
    ]


def test_a_refusal_lists_the_first_problems_and_counts_the_rest() -> None:
    error = refused(request(json.dumps({"Records": [1] * 5000}).encode(), JSON))
    problems = error.message.split("; ")
    assert problems[0] == "Records[0]: not an object" and problems[-1] == "4990 more"
    assert len(problems) == MAX_PROBLEMS + 1


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"{not json", "the body is not JSON"),
        (b'"text"', "the body is not a JSON object"),
        (b"\xff{}", "the body is not JSON"),
        (b"{}", "neither an S3 event (Records) nor an SNS envelope (Message)"),
        (
            json.dumps(
                {**doc.sns_envelope(doc.event(doc.PUT)), "Type": "SubscriptionConfirmation"}
            ).encode(),
            "SubscriptionConfirmation",
        ),
        (
            json.dumps(
                {**doc.seed_notification(doc.event(doc.PUT)), "Action": "Unsubscribe"}
            ).encode(),
            "'Unsubscribe'",
        ),
        (json.dumps(doc.sns_envelope("<xml/>")).encode(), "Message is not JSON"),
        (json.dumps({"Message": 42}).encode(), "Message is not a JSON object"),
        (
            json.dumps({"Records": [{"eventName": "ObjectCreated:Put"}]}).encode(),
            "Records[0].eventTime",
        ),
    ],
)
def test_malformed_json_requests(body: bytes, says: str) -> None:
    error = refused(request(body, JSON))
    assert error.status == 400 and says in error.message


def test_a_body_of_another_type_is_415() -> None:
    error = refused(request(b"<xml/>", "application/xml"))
    assert error.status == 415 and "application/xml" in error.message


def test_percent_encoded_garbage_in_the_message() -> None:
    body = (
        urlencode({"Action": "Publish"}).encode()
        + b"&Message="
        + quote("\udcff", errors="surrogateescape").encode()
    )
    assert refused(request(body)).status == 400
