"""An SQS message (boto3's ReceiveMessage shape) as a raw event: id, time, subject, system and
message attributes as extensions."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from adapters.aws_sqs.message import raw_event
from adapters.aws_sqs.source import _groups
from gateways.events.model import valid_extension_name

MESSAGE = {
    "MessageId": "5fea7756-0ea4-451a-a703-a558b933e274",
    "ReceiptHandle": "handle",
    "MD5OfBody": "x",
    "Body": '{"n": 1}',
    "Attributes": {
        "SentTimestamp": "1767225600123",
        "ApproximateReceiveCount": "2",
        "ApproximateFirstReceiveTimestamp": "1767225601000",
        "SenderId": "AIDAEXAMPLE",
        "MessageGroupId": "customer-1",
        "MessageDeduplicationId": "dedup",
        "SequenceNumber": "18849496460467696128",
        "AWSTraceHeader": "Root=1-5759e988-bd862e3fe1be46a994272793",
        "SomethingNew": "later",
    },
    "MessageAttributes": {
        "colour": {"DataType": "String", "StringValue": "blue"},
        "count": {"DataType": "Number", "StringValue": "3"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        "contentType": {"DataType": "String", "StringValue": "application/json"},
        "Not-An-Extension": {"DataType": "String.custom", "StringValue": "kept"},
        "sqsqueue": {"DataType": "String", "StringValue": "not ours to override"},
    },
}


def test_a_message_becomes_a_raw_event() -> None:
    raw = raw_event(MESSAGE, "orders.fifo")
    assert raw.payload == b'{"n": 1}'
    assert raw.id == "5fea7756-0ea4-451a-a703-a558b933e274"
    assert raw.subject == "orders.fifo"
    assert raw.action == "message"
    assert raw.time == datetime(2026, 1, 1, 0, 0, 0, 123000, tzinfo=UTC)
    assert raw.content_type == "application/json"
    extensions = dict(raw.extensions)
    rest = json.loads(extensions.pop("sqsattributes"))
    assert extensions == {
        "sqsqueue": "orders.fifo",
        "sqsreceivecount": "2",
        "sqsfirstreceived": "1767225601000",
        "sqssenderid": "AIDAEXAMPLE",
        "sqsgroupid": "customer-1",
        "sqsdedupid": "dedup",
        "sqssequencenumber": "18849496460467696128",
        "sqstraceheader": "Root=1-5759e988-bd862e3fe1be46a994272793",
        "sqssystemattributes": '{"SomethingNew":"later"}',
        "colour": "blue",
        "count": "3",
        "blob": "AAE=",
    }
    assert rest == {
        "contentType": {"DataType": "String", "StringValue": "application/json"},
        "Not-An-Extension": {"DataType": "String.custom", "StringValue": "kept"},
        "sqsqueue": {"DataType": "String", "StringValue": "not ours to override"},
    }
    assert all(valid_extension_name(name) for name in raw.extensions)


def test_a_bare_message() -> None:
    raw = raw_event({"MessageId": "m-1", "ReceiptHandle": "h", "Body": "plain text"}, "q")
    assert raw.payload == b"plain text" and raw.id == "m-1"
    assert raw.time is None and raw.content_type is None
    assert dict(raw.extensions) == {"sqsqueue": "q"}
    assert raw.to_wire()["data"] == "plain text"


def test_fifo_messages_are_grouped_in_their_order() -> None:
    def message(group: str, n: int) -> dict[str, object]:
        return {"MessageId": f"{group}{n}", "Attributes": {"MessageGroupId": group}}

    batch = [message("a", 1), message("b", 1), message("a", 2), message("c", 1), message("b", 2)]
    groups = _groups(batch)
    assert [[m["MessageId"] for m in group] for group in groups] == [
        ["a1", "a2"],
        ["b1", "b2"],
        ["c1"],
    ]
