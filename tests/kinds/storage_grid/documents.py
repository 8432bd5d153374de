"""StorageGRID notifications as the published documents describe them (small fixtures).

Written from, not copied from:

- NetApp, StorageGRID 11.7 tenant guide, "Understand notifications for buckets"
  (https://docs.netapp.com/us-en/storagegrid-117/tenant/understanding-notifications-for-buckets.html):
  StorageGRID's notifications use Amazon S3's JSON event format except that ``eventSource`` is
  ``sgws:s3``, ``awsRegion`` and ``x-amz-id-2`` are not included, and the bucket ``arn`` is
  ``urn:sgws:s3:::bucket_name``; the event types are ObjectCreated:Put/Post/Copy/
  CompleteMultipartUpload, ObjectRemoved:Delete/DeleteMarkerCreated and ObjectRestore:Post; the
  ``sequencer`` orders the events of one object; a notification may be delivered more than once.
- NetApp, StorageGRID tenant guide, "Specify URN for platform services endpoint": a
  notifications endpoint's URN is ``urn:<site>:sns:<optional>:<optional>:<topic name>``.
- Amazon S3 user guide, "Event message structure"
  (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html):
  the record fields; the object key is URL-encoded (``red flower.jpg`` is ``red+flower.jpg``);
  ``sequencer`` is given for PUTs and DELETEs; a notification may hold several records; the
  ``s3:TestEvent`` message a destination receives first.
- Argo Events v0.10, ``gateways/community/storagegrid/`` (config.go, start.go, start_test.go):
  the seed-era gateway took the SNS ``Publish`` action (``Action=Publish``, ``Message`` the S3
  event, ``TopicArn``, ``Version=2010-03-31``) and answered a ``PublishResponse``.
"""

from __future__ import annotations

import copy
import json
from typing import Any
from urllib.parse import urlencode

TOPIC_ARN = "urn:sgws:sns:::photo-events"
BUCKET = "photos"


def record(
    key: str,
    sequencer: str | None,
    event_name: str = "ObjectCreated:Put",
    *,
    size: int | None = 6,
    time: str = "2019-02-27T21:15:09Z",
) -> dict[str, Any]:
    """One StorageGRID record: S3's structure, with StorageGRID's values and omissions."""
    obj: dict[str, Any] = {"key": key}
    if size is not None:
        obj.update(size=size, eTag="9b2cf535f27731c974343645a3985328")
    if sequencer is not None:
        obj["sequencer"] = sequencer
    return {
        "eventVersion": "2.0",
        "eventSource": "sgws:s3",
        "eventTime": time,
        "eventName": event_name,
        "userIdentity": {"principalId": "11111111111111111111"},
        "requestParameters": {"sourceIPAddress": "10.96.101.5"},
        "responseElements": {"x-amz-request-id": "1551302109403812"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "Object-Event",
            "bucket": {
                "name": BUCKET,
                "ownerIdentity": {"principalId": "55555555555555555555"},
                "arn": f"urn:sgws:s3:::{BUCKET}",
            },
            "object": obj,
        },
    }


PUT = record("uploads/red+flower.jpg", "1588FE6F0E2F3A7C")
COPY = record("uploads/copy.txt", "1588FE6F0E2F3A7D", "ObjectCreated:Copy")
DELETE = record("uploads/old.txt", "1588FE6F0E2F3A7E", "ObjectRemoved:Delete", size=None)
ELSEWHERE = record("archive/2019.tar", "1588FE6F0E2F3A7F")

# What S3 sends a destination when a notification configuration is saved: no records.
TEST_EVENT = {
    "Service": "Amazon S3",
    "Event": "s3:TestEvent",
    "Time": "2019-02-27T21:15:00.000Z",
    "Bucket": BUCKET,
    "RequestId": "5582815E1AEA5ADF",
    "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR",
}

# Amazon's own kind of record, with awsRegion and x-amz-id-2 (the same reader takes both).
AWS_PUT = {
    **record("HappyFace.jpg", "0055AED6DCD90281E5", time="1970-01-01T00:00:00.000Z"),
    "eventVersion": "2.1",
    "eventSource": "aws:s3",
    "awsRegion": "us-west-2",
    "responseElements": {
        "x-amz-request-id": "C3D13FE58DE4C810",
        "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD",
    },
}


def event(*records: dict[str, Any]) -> dict[str, Any]:
    """The S3 event message: ``{"Records": [...]}``."""
    return {"Records": [copy.deepcopy(r) for r in records]}


def publish_form(message: Any, topic: str = TOPIC_ARN, action: str = "Publish") -> bytes:
    """The SNS Publish action as a form body, as StorageGRID (an SNS client) posts it."""
    text = message if isinstance(message, str) else json.dumps(message)
    fields = [("Action", action), ("Message", text), ("TopicArn", topic)]
    return urlencode([*fields, ("Version", "2010-03-31")]).encode()


def sns_envelope(message: Any, topic: str = TOPIC_ARN) -> dict[str, Any]:
    """An SNS-style JSON envelope whose ``Message`` is the S3 event as a JSON string."""
    return {
        "Type": "Notification",
        "MessageId": "da41e39f-ea4d-435a-b922-c6aae3915ebe",
        "TopicArn": topic,
        "Subject": "Amazon S3 Notification",
        "Message": message if isinstance(message, str) else json.dumps(message),
        "Timestamp": "2019-02-27T21:15:10.000Z",
    }


def seed_notification(message: dict[str, Any], topic: str = TOPIC_ARN) -> dict[str, Any]:
    """The seed era's JSON shape: the Publish parameters with ``Message`` as an object."""
    return {"Action": "Publish", "Message": message, "TopicArn": topic, "Version": "2010-03-31"}
