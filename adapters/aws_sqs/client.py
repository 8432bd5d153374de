"""The SQS queue of one source, through boto3 (blocking: the source calls it on threads).

Credentials come from the config's secret references (read when the source starts; a missing
one fails the source naming its field) or, without them, boto3's default chain. boto3 retries
nothing itself here (``max_attempts`` 1): the source's supervisor retries a failed session with
the source's backoff.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Mapping
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from adapters.aws_sqs.config import SQSConfig
from gateways.config.common import SecretRef
from gateways.errors import GatewayError
from gateways.secrets import SecretNotFoundError, resolve

CONNECT_TIMEOUT = 5
BATCH = 10  # DeleteMessageBatch and ChangeMessageVisibilityBatch take at most ten entries
ALL = ["All"]


def credentials(config: SQSConfig) -> dict[str, str]:
    """boto3's explicit credentials from the secret references; {} for the default chain."""
    if config.access_key is None or config.secret_key is None:
        return {}
    found = {
        "aws_access_key_id": _secret(config.access_key, "accessKey"),
        "aws_secret_access_key": _secret(config.secret_key, "secretKey"),
    }
    if config.session_token is not None:
        found["aws_session_token"] = _secret(config.session_token, "sessionToken")
    return found


class Queue:
    """One queue: its URL (resolved from the name once), receive, delete, release."""

    def __init__(self, config: SQSConfig, secrets: Mapping[str, str]) -> None:
        self.config = config
        session = boto3.session.Session(region_name=config.region, **secrets)
        self.client: Any = session.client(
            "sqs",
            endpoint_url=config.endpoint,
            config=Config(
                retries={"max_attempts": 1, "mode": "standard"},
                connect_timeout=CONNECT_TIMEOUT,
                read_timeout=config.wait_time_seconds + 10,
                max_pool_connections=32,
            ),
        )
        self.url = config.queue_url or ""

    def resolve(self) -> str:
        """The queue's URL: given, or asked of SQS by name (GetQueueUrl)."""
        if not self.url:
            options: dict[str, str] = {"QueueName": self.config.queue or ""}
            if self.config.queue_owner_account_id:
                options["QueueOwnerAWSAccountId"] = self.config.queue_owner_account_id
            self.url = str(self.client.get_queue_url(**options)["QueueUrl"])
        return self.url

    def receive(self, count: int, stopping: threading.Event) -> list[dict[str, Any]]:
        """Long-poll for up to ``count`` messages. When the source stopped meanwhile, what came
        is made visible again at once (nobody will deliver it) and nothing is returned."""
        options: dict[str, Any] = {
            "QueueUrl": self.url,
            "MaxNumberOfMessages": max(1, min(count, BATCH)),
            "WaitTimeSeconds": self.config.wait_time_seconds,
            "MessageAttributeNames": ALL,
            "MessageSystemAttributeNames": ALL,
        }
        if self.config.visibility_timeout is not None:
            options["VisibilityTimeout"] = math.ceil(self.config.visibility_timeout.total_seconds())
        messages: list[dict[str, Any]] = self.client.receive_message(**options).get("Messages", [])
        if messages and stopping.is_set():
            self.release([m["ReceiptHandle"] for m in messages], 0)
            return []
        return messages

    def delete(self, receipts: list[str]) -> list[str]:
        """DeleteMessageBatch (ten at a time); the reasons of entries SQS did not delete."""
        failed: list[str] = []
        for chunk in _chunks(receipts):
            entries = [{"Id": str(i), "ReceiptHandle": r} for i, r in enumerate(chunk)]
            reply = self.client.delete_message_batch(QueueUrl=self.url, Entries=entries)
            failed.extend(_failures(reply))
        return failed

    def release(self, receipts: Iterable[str], seconds: int) -> list[str]:
        """ChangeMessageVisibilityBatch: visible again after ``seconds`` (0: now)."""
        failed: list[str] = []
        for chunk in _chunks(list(receipts)):
            entries = [
                {"Id": str(i), "ReceiptHandle": r, "VisibilityTimeout": seconds}
                for i, r in enumerate(chunk)
            ]
            reply = self.client.change_message_visibility_batch(QueueUrl=self.url, Entries=entries)
            failed.extend(_failures(reply))
        return failed


def describe(exc: BaseException) -> str:
    """An SQS error as a short reason: its code and message, else botocore's text."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code, message = error.get("Code", ""), error.get("Message", "")
        if "NonExistentQueue" in code or code == "QueueDoesNotExist":
            return f"no such queue: {message or code}"
        return f"{code}: {message}" if message else code or str(exc)
    if isinstance(exc, BotoCoreError):
        return str(exc)
    return str(exc) or type(exc).__name__


def _failures(reply: Mapping[str, Any]) -> list[str]:
    return [
        f"{entry.get('Code', '')}: {entry.get('Message', '')}" for entry in reply.get("Failed", [])
    ]


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]


def _secret(ref: SecretRef, field: str) -> str:
    try:
        return resolve(ref)
    except SecretNotFoundError as exc:
        raise GatewayError(f"{field}: {exc}") from None
