"""The AWS SQS source: long polling one queue, each message deleted only after delivery.

A session resolves the queue's URL (GetQueueUrl, unless ``queueUrl`` gives it), then receives
up to ``maxMessages`` (at most ten) messages at a time with ``waitTimeSeconds`` long polling,
but only as many as the in-flight pool (``GATEWAYS_MAX_IN_FLIGHT``) has room for. Each is
handed to ``emit``; once ``emit`` returned its receipt is queued for deletion, and deletions go
out ten at a time (DeleteMessageBatch). A message ``emit`` refused is not deleted: it becomes
visible again after the visibility timeout, or (``retryAfterBackoff``) after the source's
backoff by its receive count (ChangeMessageVisibility), and SQS hands it out again. Delivery is
therefore at least once; a message delivered but not yet deleted when the adapter dies comes
again. FIFO queues (``.fifo``) keep their group order: a message group's messages of one
receive are delivered one after the other, and when one is refused the rest of its group is
handed back with it (SQS gives no more of a group while any of it is in flight).

boto3 blocks: receives run on daemon threads of their own (a stop does not wait for a long
poll; what it brings after the stop is made visible again at once), the short calls through
``asyncio.to_thread``. A failing call ends the session; the supervisor retries with
``backoff``, the status saying "degraded" with SQS's reason meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
from collections.abc import Callable
from typing import Any

from adapters.aws_sqs import client as sqs
from adapters.aws_sqs.config import SQSConfig
from adapters.aws_sqs.message import raw_event
from gateways.inflight import InFlight
from gateways.kinds import SourceContext, SourceKind
from gateways.source import Origin
from gateways.supervised import SupervisedSource

log = logging.getLogger(__name__)
Message = dict[str, Any]


class SQSSource(SupervisedSource[SQSConfig]):
    kind = "aws-sqs"

    def __init__(self, origin: Origin, config: SQSConfig, context: SourceContext) -> None:
        super().__init__(origin, config, context)
        self._pool = InFlight(context.max_in_flight, self.label)
        self._secrets: dict[str, str] = {}

    @property
    def where(self) -> str:
        return f"SQS {self.config.endpoint or self.config.region} queue {self.config.name}"

    def describe(self, exc: BaseException) -> str:
        return sqs.describe(exc)

    async def prepare(self) -> None:
        self._secrets = sqs.credentials(self.config)  # raises naming the field

    async def session(self, connected: Callable[[], None]) -> str | None:
        queue = await asyncio.to_thread(sqs.Queue, self.config, self._secrets)
        await asyncio.to_thread(queue.resolve)
        stopping = threading.Event()
        deleter = _Deleter(queue, self.label)
        connected()
        try:
            while True:
                await self._pool.room()
                count = min(self._pool.free, self.config.max_messages)
                messages = await _on_thread(
                    f"{self.label} receive", queue, queue.receive, count, stopping
                )
                if self.config.fifo:
                    for group in _groups(messages):
                        await self._pool.submit(self._deliver_group(queue, deleter, group))
                else:
                    for message in messages:
                        await self._pool.submit(self._deliver_one(queue, deleter, message))
        finally:
            stopping.set()  # a receive still polling hands back what it gets
            await self._pool.drain()
            await deleter.close()

    async def _deliver_one(self, queue: sqs.Queue, deleter: _Deleter, message: Message) -> None:
        if await self._deliver(queue, message):
            deleter.add(message["ReceiptHandle"])

    async def _deliver_group(
        self, queue: sqs.Queue, deleter: _Deleter, group: list[Message]
    ) -> None:
        """A FIFO group's messages in order; after a refusal the rest go back with it."""
        for index, message in enumerate(group):
            if not await self._deliver(queue, message):
                rest = [m["ReceiptHandle"] for m in group[index + 1 :]]
                if rest:
                    await _quietly(asyncio.to_thread(queue.release, rest, 0))
                return
            deleter.add(message["ReceiptHandle"])

    async def _deliver(self, queue: sqs.Queue, message: Message) -> bool:
        """Emit one message; False (and its visibility set to the backoff) when refused."""
        receipt = message["ReceiptHandle"]
        try:
            await self.emit(raw_event(message, self.config.name))
        except asyncio.CancelledError:
            _release_later(queue, [receipt])  # stopped mid-delivery: another may take it now
            raise
        except Exception as exc:
            count = _receive_count(message)
            if self.config.retry_after_backoff:
                delay = math.ceil(self.config.backoff.delay(max(0, count - 1)))
                log.warning(
                    "%s: message %s not delivered (receive %d), visible again in %ds: %s",
                    self.label,
                    message.get("MessageId"),
                    count,
                    delay,
                    exc,
                )
                await _quietly(asyncio.to_thread(queue.release, [receipt], delay))
            else:
                log.warning(
                    "%s: message %s not delivered (receive %d), visible again after the "
                    "visibility timeout: %s",
                    self.label,
                    message.get("MessageId"),
                    count,
                    exc,
                )
            return False
        return True


class _Deleter:
    """Receipts of delivered messages, deleted in batches of up to ten as they come."""

    def __init__(self, queue: sqs.Queue, label: str) -> None:
        self.queue = queue
        self.label = label
        self._pending: asyncio.Queue[str | None] = asyncio.Queue()
        self._task = asyncio.create_task(self._run(), name=f"{label} delete")

    def add(self, receipt: str) -> None:
        self._pending.put_nowait(receipt)

    async def close(self) -> None:
        """Delete what is pending, then end."""
        self._pending.put_nowait(None)
        await self._task

    async def _run(self) -> None:
        done = False
        while not done:
            batch: list[str] = []
            item = await self._pending.get()
            while True:
                if item is None:
                    done = True
                else:
                    batch.append(item)
                if done or len(batch) == sqs.BATCH or self._pending.empty():
                    break
                item = self._pending.get_nowait()
            if batch:
                await self._delete(batch)

    async def _delete(self, batch: list[str]) -> None:
        # Not deleted: the message comes again after its visibility timeout (a duplicate).
        try:
            failed = await asyncio.to_thread(self.queue.delete, batch)
        except Exception as exc:
            log.warning(
                "%s: %d delivered message(s) not deleted, SQS will redeliver them: %s",
                self.label,
                len(batch),
                sqs.describe(exc),
            )
            return
        for reason in failed:
            log.warning("%s: a delivered message was not deleted: %s", self.label, reason)


def _groups(messages: list[Message]) -> list[list[Message]]:
    """Messages by MessageGroupId, each group in the order SQS gave them."""
    groups: dict[str, list[Message]] = {}
    for message in messages:
        group = str((message.get("Attributes") or {}).get("MessageGroupId", ""))
        groups.setdefault(group, []).append(message)
    return list(groups.values())


def _receive_count(message: Message) -> int:
    text = str((message.get("Attributes") or {}).get("ApproximateReceiveCount", "1"))
    return int(text) if text.isdigit() else 1


async def _on_thread(
    name: str, queue: sqs.Queue, work: Callable[..., list[Message]], *args: Any
) -> list[Message]:
    """``work(*args)`` on a daemon thread of its own (a long poll must not hold up a stop or the
    process's exit); messages it brings after the awaiting session was cancelled are handed
    back to SQS at once."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[list[Message]] = loop.create_future()

    def settle(result: list[Message] | None, error: BaseException | None) -> None:
        if future.cancelled():
            if result:
                _release_later(queue, [m["ReceiptHandle"] for m in result])
        elif error is not None:
            future.set_exception(error)
        else:
            future.set_result(result or [])

    def run() -> None:
        try:
            result = work(*args)
        except BaseException as exc:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                loop.call_soon_threadsafe(settle, None, exc)
        else:
            try:
                loop.call_soon_threadsafe(settle, result, None)
            except RuntimeError:
                _release_later(queue, [m["ReceiptHandle"] for m in result])

    threading.Thread(target=run, name=name, daemon=True).start()
    return await future


def _release_later(queue: sqs.Queue, receipts: list[str]) -> None:
    """Make messages visible again, on a daemon thread, never waited for."""
    if not receipts:
        return

    def run() -> None:
        with contextlib.suppress(Exception):
            queue.release(receipts, 0)

    threading.Thread(target=run, name="sqs release", daemon=True).start()


async def _quietly(call: Any) -> None:
    # A failed visibility change leaves the queue's visibility timeout as the retry.
    with contextlib.suppress(Exception):
        await call


KIND = SourceKind(name="aws-sqs", config=SQSConfig, create=SQSSource)
