"""Smoke test: ElasticMQ from scripts/services, through boto3: a queue by name, a message sent,
received with its attributes, deleted in a batch, and gone."""

from __future__ import annotations

import uuid

import pytest

from tests.servicekit import SqsService

pytestmark = [pytest.mark.sqs, pytest.mark.timeout(60)]


def test_send_receive_delete(sqs_service: SqsService) -> None:
    client = sqs_service.client()
    name = f"gw-smoke-{uuid.uuid4().hex[:12]}"
    url = client.create_queue(QueueName=name)["QueueUrl"]
    try:
        assert client.get_queue_url(QueueName=name)["QueueUrl"] == url
        attributes = {"colour": {"DataType": "String", "StringValue": "blue"}}
        sent = client.send_message(
            QueueUrl=url, MessageBody='{"n": 1}', MessageAttributes=attributes
        )
        reply = client.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=5,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
        )
        [message] = reply["Messages"]
        assert message["MessageId"] == sent["MessageId"]
        assert message["Body"] == '{"n": 1}'
        assert message["MessageAttributes"]["colour"]["StringValue"] == "blue"
        assert message["Attributes"]["ApproximateReceiveCount"] == "1"
        entries = [{"Id": "0", "ReceiptHandle": message["ReceiptHandle"]}]
        deleted = client.delete_message_batch(QueueUrl=url, Entries=entries)
        assert [e["Id"] for e in deleted["Successful"]] == ["0"]
        again = client.receive_message(QueueUrl=url, WaitTimeSeconds=1, VisibilityTimeout=0)
        assert again.get("Messages", []) == []
    finally:
        client.delete_queue(QueueUrl=url)
