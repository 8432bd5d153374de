"""StorageGRID sources over real HTTP through the embedded default and the webhook function:
notifications in each shape StorageGRID posts become one CloudEvent per record at a real
watcher, answered only after delivery; an SNS client (boto3, as StorageGRID is one) reads the
answers; every malformed request is a 4xx with nothing delivered while the other sources serve.
"""

from __future__ import annotations

import asyncio
import json

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.kinds.storage_grid import documents as doc
from tests.kinds.storage_grid.support import (
    JSON,
    Grid,
    others_still_serve,
    post,
    publish_result,
    sns_error,
)
from tests.watcher import RecordingWatcher

pytestmark = pytest.mark.timeout(60)


# ---------------------------------------------------------------------------- delivered


async def test_form_publish_each_record_an_event_then_publish_response(
    grid: Grid, watcher: RecordingWatcher
) -> None:
    body = doc.publish_form(doc.event(doc.PUT, doc.COPY, doc.DELETE, doc.ELSEWHERE))
    status, answer, content_type = await post(grid.uploads, body)
    assert status == 200, answer
    assert content_type.startswith("text/xml")
    publish_result(answer)
    # Answered only after delivery: both passing records were already at the watcher.
    assert len(watcher.requests) == 2
    put, copy = (r.event for r in watcher.requests)
    assert put is not None and copy is not None
    assert put.type == "dev.gateways.storage-grid.objectcreated.put"
    assert copy.type == "dev.gateways.storage-grid.objectcreated.copy"
    assert put.source == "/gateways/grid/uploads"
    assert put.id == "1588FE6F0E2F3A7C/uploads/red flower.jpg"
    assert put.attributes["subject"] == "uploads/red flower.jpg"
    assert put.attributes["time"].startswith("2019-02-27T21:15:09")
    for name, value in {
        "s3bucket": "photos",
        "s3key": "uploads/red flower.jpg",
        "s3eventname": "ObjectCreated:Put",
        "s3sequencer": "1588FE6F0E2F3A7C",
        "s3size": "6",
        "snstopicarn": doc.TOPIC_ARN,
    }.items():
        assert put.attributes[name] == value
    assert put.content_type == "application/json"
    assert put.json() == doc.PUT  # the record as JSON, not base64


async def test_json_s3_event_and_sns_envelope_answered_in_json(
    grid: Grid, watcher: RecordingWatcher
) -> None:
    status, answer, _ = await post(grid.everything, doc.event(doc.AWS_PUT, doc.PUT), JSON)
    assert status == 200 and json.loads(answer) == {"status": "delivered", "events": 2}
    aws, put = (r.event for r in await watcher.wait_for(2))
    assert aws is not None and aws.attributes["s3region"] == "us-west-2"
    assert aws.id == "0055AED6DCD90281E5/HappyFace.jpg" and "snstopicarn" not in aws.attributes
    assert put is not None and "s3region" not in put.attributes

    status, answer, _ = await post(
        grid.everything,
        doc.sns_envelope(doc.event(doc.DELETE)),
        {"content-type": "text/plain; charset=UTF-8"},
    )
    assert status == 200 and json.loads(answer) == {"status": "delivered", "events": 1}
    status, answer, _ = await post(
        grid.everything, doc.seed_notification(doc.event(doc.COPY)), JSON
    )
    assert status == 200 and json.loads(answer)["status"] == "delivered"
    delete, copy = (r.event for r in watcher.requests[2:])
    assert delete is not None and delete.attributes["snstopicarn"] == doc.TOPIC_ARN
    assert copy is not None and copy.json() == doc.COPY


async def test_an_sns_client_publishing_as_storagegrid_does(
    grid: Grid, watcher: RecordingWatcher
) -> None:
    """boto3's SNS client sends the form-encoded Publish and parses our answers as SNS's."""
    client = boto3.client(
        "sns",
        endpoint_url=grid.uploads,
        region_name="us-east-1",
        aws_access_key_id="grid",
        aws_secret_access_key="grid",
        config=Config(retries={"total_max_attempts": 1}),
    )
    message = json.dumps(doc.event(doc.PUT))
    answer = await asyncio.to_thread(client.publish, TopicArn=doc.TOPIC_ARN, Message=message)
    assert answer["MessageId"] and answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    [request] = watcher.requests
    assert request.event is not None and request.event.attributes["snstopicarn"] == doc.TOPIC_ARN

    with pytest.raises(ClientError) as caught:
        await asyncio.to_thread(client.publish, TopicArn=doc.TOPIC_ARN, Message="not json")
    assert caught.value.response["Error"]["Code"] == "InvalidParameter"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400

    watcher.answer(503)
    with pytest.raises(ClientError) as caught:
        await asyncio.to_thread(client.publish, TopicArn=doc.TOPIC_ARN, Message=message)
    assert caught.value.response["Error"]["Code"] == "ServiceUnavailable"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert len(watcher.requests) == 2


async def test_all_records_filtered_out_is_ignored(grid: Grid, watcher: RecordingWatcher) -> None:
    removed = doc.event(doc.DELETE, doc.ELSEWHERE)  # not ObjectCreated, or not under uploads/
    status, answer, _ = await post(grid.uploads, removed, JSON)
    assert status == 200 and json.loads(answer) == {"status": "ignored"}
    status, answer, _ = await post(grid.uploads, doc.publish_form(removed))
    assert status == 200
    publish_result(answer)  # what StorageGRID expects, so it does not retry
    status, answer, _ = await post(grid.everything, doc.publish_form(doc.TEST_EVENT))
    assert status == 200
    publish_result(answer)
    assert watcher.requests == []


# ---------------------------------------------------------------------------- refused


FORM_REFUSALS = [
    pytest.param(b"Action=Publish&Message", 400, "MalformedQueryString", id="field-without-value"),
    pytest.param(b"Action=Publish&Message=\xff\xfe", 400, "MalformedQueryString", id="not-utf8"),
    pytest.param(
        doc.publish_form(doc.event(doc.PUT), action="DeleteTopic"),
        400,
        "InvalidAction",
        id="unknown-action",
    ),
    pytest.param(b"TopicArn=x&Message=%7B%7D", 400, "InvalidAction", id="no-action"),
    pytest.param(b"Action=Publish&TopicArn=x", 400, "MissingParameter", id="no-message"),
    pytest.param(doc.publish_form("<Records/>"), 400, "InvalidParameter", id="message-not-json"),
    pytest.param(
        doc.publish_form({"Records": [{"eventName": "ObjectCreated:Put"}]}),
        400,
        "InvalidParameter",
        id="record-missing-fields",
    ),
    pytest.param(
        doc.publish_form({"Records": [doc.PUT, {**doc.COPY, "eventTime": "noon"}]}),
        400,
        "InvalidParameter",
        id="one-bad-record-of-two",
    ),
]


@pytest.mark.parametrize(("body", "status", "code"), FORM_REFUSALS)
async def test_malformed_form_refused_nothing_delivered(
    grid: Grid, watcher: RecordingWatcher, body: bytes, status: int, code: str
) -> None:
    got, answer, content_type = await post(grid.uploads, body)
    assert got == status, answer
    assert content_type.startswith("text/xml")
    assert sns_error(answer)[:2] == ("Sender", code)
    assert watcher.requests == []
    await others_still_serve(grid, watcher)


JSON_REFUSALS = [
    pytest.param(b"{not json", JSON, 400, id="not-json"),
    pytest.param(b"[]", JSON, 400, id="not-an-object"),
    pytest.param(b"{}", JSON, 400, id="no-records-no-message"),
    pytest.param(
        json.dumps(doc.sns_envelope("not json")).encode(), JSON, 400, id="envelope-message-not-json"
    ),
    pytest.param(
        json.dumps({**doc.seed_notification(doc.event(doc.PUT)), "Action": "Subscribe"}).encode(),
        JSON,
        400,
        id="unknown-action",
    ),
    pytest.param(
        json.dumps({"Records": [doc.PUT, {"s3": {}}]}).encode(),
        JSON,
        400,
        id="record-missing-fields",
    ),
    pytest.param(b"<PublishRequest/>", {"content-type": "application/xml"}, 415, id="xml"),
]


@pytest.mark.parametrize(("body", "headers", "status"), JSON_REFUSALS)
async def test_malformed_json_refused_nothing_delivered(
    grid: Grid, watcher: RecordingWatcher, body: bytes, headers: dict[str, str], status: int
) -> None:
    got, answer, _ = await post(grid.everything, body, headers)
    assert got == status, answer
    assert "error" in json.loads(answer)
    assert watcher.requests == []
    await others_still_serve(grid, watcher)


async def test_shared_endpoint_checks(grid: Grid, watcher: RecordingWatcher) -> None:
    assert (await post(grid.uploads, b"", method="GET"))[0] == 405
    too_large = doc.publish_form(doc.event(*[doc.PUT] * 200))
    assert len(too_large) > 65536
    assert (await post(grid.uploads, too_large))[0] == 413
    assert watcher.requests == []
    await others_still_serve(grid, watcher)


async def test_any_object_key_travels_intact(grid: Grid, watcher: RecordingWatcher) -> None:
    # S3 keys are any UTF-8; the record carries them URL-encoded, control characters included.
    odd = doc.record("uploads/line%0Abreak/%E2%9C%93+caf%C3%A9.txt", "5")
    status, _, _ = await post(grid.everything, doc.event(odd), JSON)
    assert status == 200
    [request] = watcher.requests
    assert request.event is not None
    assert request.event.attributes["subject"] == "uploads/line\nbreak/✓ café.txt"
    assert request.event.attributes["s3key"] == "uploads/line\nbreak/✓ café.txt"
    assert request.event.id == "5/uploads/line\nbreak/✓ café.txt"
