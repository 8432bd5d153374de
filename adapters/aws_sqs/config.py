"""AWS SQS source config: the seed era's ``queue``, ``region``, ``waitTimeSeconds`` and
``accessKey``/``secretKey``, and what a queue elsewhere or a local server needs besides.

``queue`` is the queue's name (its URL is asked of SQS with GetQueueUrl, in the account of
``queueOwnerAccountId`` when given); ``queueUrl`` gives the URL instead. Without
``accessKey``/``secretKey`` boto3's default chain finds the credentials (environment, shared
files, a web identity, the instance or task role). ``endpoint`` points at another SQS API
(a local server, a VPC endpoint).

``visibilityTimeout`` (optional) is asked for on each receive; otherwise the queue's own
applies. A message that was not delivered becomes visible again after it, which is the retry;
with ``retryAfterBackoff`` (the default) its visibility is set to the source's ``backoff``
instead (by its receive count), so a failing watcher is retried on the backoff's schedule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

from gateways.config.common import Backoff, SecretRef
from gateways.config.fields import Fields

_REGION = re.compile(r"[a-z0-9-]{1,64}")
_QUEUE_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")  # ".fifo" ends a FIFO queue's name
_ACCOUNT = re.compile(r"[0-9]{12}")
MAX_VISIBILITY = timedelta(hours=12)  # SQS's own limit
MAX_BATCH = 10  # SQS's limit for ReceiveMessage and DeleteMessageBatch


@dataclass(frozen=True, slots=True)
class SQSConfig:
    region: str
    queue: str | None = None  # by name (GetQueueUrl), or
    queue_url: str | None = None  # given
    queue_owner_account_id: str | None = None
    wait_time_seconds: int = 20  # long polling: 1 to 20
    max_messages: int = MAX_BATCH  # per ReceiveMessage: 1 to 10
    visibility_timeout: timedelta | None = None  # None: the queue's own
    retry_after_backoff: bool = True
    access_key: SecretRef | None = None  # both or neither; neither: boto3's default chain
    secret_key: SecretRef | None = None
    session_token: SecretRef | None = None  # with temporary keys
    endpoint: str | None = None  # the SQS API endpoint, for local servers and private ones
    backoff: Backoff = field(default_factory=Backoff)

    @property
    def name(self) -> str:
        """The queue's name: ``queue``, else the last part of ``queueUrl``'s path."""
        if self.queue:
            return self.queue
        return urlsplit(self.queue_url or "").path.rstrip("/").rsplit("/", 1)[-1]

    @property
    def fifo(self) -> bool:
        """FIFO queues' names end in ``.fifo`` (SQS's rule)."""
        return self.name.endswith(".fifo")

    @classmethod
    def parse(cls, fields: Fields) -> SQSConfig:
        access_key = SecretRef.parse(fields, "accessKey")
        secret_key = SecretRef.parse(fields, "secretKey")
        if (access_key is None) != (secret_key is None):
            fields.problem(
                "secretKey" if access_key else "accessKey",
                "accessKey and secretKey go together (or leave both out for the default chain)",
            )
        session_token = SecretRef.parse(fields, "sessionToken")
        if session_token is not None and access_key is None:
            fields.problem("sessionToken", "needs accessKey and secretKey")
        region = fields.required_str("region").strip()
        if region and not _REGION.fullmatch(region):
            fields.problem("region", f"{region!r} is not an AWS region name")
        queue, queue_url = _queue(fields)
        owner = (fields.str("queueOwnerAccountId") or "").strip() or None
        if owner is not None:
            if not _ACCOUNT.fullmatch(owner):
                fields.problem("queueOwnerAccountId", f"{owner!r} is not a 12-digit account id")
            if queue is None:
                fields.problem("queueOwnerAccountId", "goes with queue (queueUrl names it)")
        defaults = cls(region="")
        wait = fields.int("waitTimeSeconds", defaults.wait_time_seconds, minimum=1, maximum=20)
        batch = fields.int("maxMessages", defaults.max_messages, minimum=1, maximum=MAX_BATCH)
        visibility = fields.duration("visibilityTimeout")
        if visibility is not None and not timedelta(seconds=1) <= visibility <= MAX_VISIBILITY:
            fields.problem("visibilityTimeout", "must be from 1s to 12h")
        retry_after_backoff = fields.bool("retryAfterBackoff", defaults.retry_after_backoff)
        endpoint = _endpoint(fields)
        return cls(
            region=region,
            queue=queue,
            queue_url=queue_url,
            queue_owner_account_id=owner,
            wait_time_seconds=wait or defaults.wait_time_seconds,
            max_messages=batch or defaults.max_messages,
            visibility_timeout=visibility,
            retry_after_backoff=retry_after_backoff,
            access_key=access_key,
            secret_key=secret_key,
            session_token=session_token,
            endpoint=endpoint,
            backoff=Backoff.parse(fields),
        )


def _queue(fields: Fields) -> tuple[str | None, str | None]:
    queue = (fields.str("queue") or "").strip() or None
    url = (fields.str("queueUrl") or "").strip() or None
    if queue is None and url is None:
        fields.problem("queue", "is required (the queue's name), or give queueUrl")
    elif queue is not None and url is not None:
        fields.problem("queueUrl", "give queue or queueUrl, not both")
    if queue is not None:
        stem = queue.removesuffix(".fifo")
        if not _QUEUE_NAME.fullmatch(stem) or len(queue) > 80:
            fields.problem(
                "queue",
                f"{queue!r} is not an SQS queue name (up to 80 letters, digits, '-' and '_';"
                " '.fifo' at the end of a FIFO queue's)",
            )
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            fields.problem("queueUrl", f"{url!r} is not an http or https URL")
        elif not parts.path.strip("/"):
            fields.problem("queueUrl", f"{url!r} names no queue (…/<account>/<queue name>)")
    return queue, url


def _endpoint(fields: Fields) -> str | None:
    endpoint = (fields.str("endpoint") or "").strip() or None
    if endpoint is not None:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            fields.problem("endpoint", f"{endpoint!r} is not an http or https URL")
    return endpoint
