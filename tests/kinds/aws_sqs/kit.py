"""The SQS tests' helpers: queues on ElasticMQ, messages sent ten at a time, source configs."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tests.adapter.kit import FAST_BACKOFF
from tests.kit import unique
from tests.servicekit import SqsService

# The sources reference the credentials as the seed era does: a Secret's keys, found locally in
# the environment as <NAME>_<KEY>.
SECRET = "sqs-test"
SECRET_ENV = {"access": "SQS_TEST_ACCESSKEY", "secret": "SQS_TEST_SECRETKEY"}


@dataclass
class Queues:
    service: SqsService
    client: Any = None
    made: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.client = self.service.client()

    def make(self, prefix: str = "gw-orders-", *, fifo: bool = False, **attributes: str) -> str:
        """A new queue's name (a FIFO one ends in .fifo)."""
        name = unique(prefix) + (".fifo" if fifo else "")
        if fifo:
            attributes = {"FifoQueue": "true", **attributes}
        return self.create(name, **attributes)

    def create(self, name: str, **attributes: str) -> str:
        """The queue ``name``, made now; its name."""
        url = self.client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        self.made.append(url)
        return name

    def url(self, name: str) -> str:
        return str(self.client.get_queue_url(QueueName=name)["QueueUrl"])

    def send(
        self, name: str, numbers: Iterable[int], *, group: str | None = None, **attributes: str
    ) -> list[str]:
        """``{"n": number}`` bodies, ten per SendMessageBatch; their MessageIds in order."""
        url = self.url(name)
        ids: list[str] = []
        numbers = list(numbers)
        for start in range(0, len(numbers), 10):
            entries = []
            for index, number in enumerate(numbers[start : start + 10]):
                entry: dict[str, Any] = {
                    "Id": str(index),
                    "MessageBody": json.dumps({"n": number}),
                    "MessageAttributes": {
                        name: {"DataType": "String", "StringValue": value}
                        for name, value in attributes.items()
                    },
                }
                if group is not None:  # the same body in two groups is two messages
                    entry["MessageGroupId"] = group
                    entry["MessageDeduplicationId"] = f"{group}-{number}"
                entries.append(entry)
            reply = self.client.send_message_batch(QueueUrl=url, Entries=entries)
            assert not reply.get("Failed"), reply["Failed"]
            by_index = {int(e["Id"]): e["MessageId"] for e in reply["Successful"]}
            ids.extend(by_index[i] for i in range(len(entries)))
        return ids

    def left(self, name: str) -> int:
        """Messages still in the queue, visible or not (ElasticMQ counts exactly)."""
        attributes = self.client.get_queue_attributes(
            QueueUrl=self.url(name),
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )

    def delete_all(self) -> None:
        for url in self.made:
            self.client.delete_queue(QueueUrl=url)


def source(service: SqsService, queue: str, **fields: Any) -> dict[str, Any]:
    """A source config as the seed era writes one, plus the endpoint and a fast backoff."""
    return {
        "accessKey": {"name": SECRET, "key": "accesskey"},
        "secretKey": {"name": SECRET, "key": "secretkey"},
        "region": service.region,
        "queue": queue,
        "waitTimeSeconds": 1,
        "endpoint": service.endpoint,
        "backoff": FAST_BACKOFF,
        **fields,
    }
