"""The GCP Pub/Sub source: one subscription, streaming pull, acked after delivery.

Each message is acked only after ``emit`` returned; when it raised, the message is held for
the source's backoff (by its number of failures) and then nacked, so Pub/Sub redelivers it.
A message left unacked by a stopped or killed adapter comes back after its ack deadline: at
least once. Flow control keeps at most ``GATEWAYS_MAX_IN_FLIGHT`` messages outstanding, and
the core's :class:`InFlight` pool emits at most that many at once. Messages with an ordering
key (on a subscription with ordering enabled, as a created one is) reach the callback one at a
time per key, the next only after the previous was acked or nacked: delivered in order.

The client runs its callbacks on threads of its own; they hand each message to the event loop
(:meth:`InFlight.submit_from_thread`). The streaming pull future is the supervisor's session:
the client retries transient errors itself; a pull that ends for good ends the session, and
the supervisor retries with ``backoff``. On stop the session takes no more messages, lets the
ones in flight finish (their acks go out) and cancels the pull.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from google.auth.credentials import Credentials
from google.cloud import pubsub_v1
from google.cloud.pubsub_v1.subscriber.message import Message

from adapters.gcp_pubsub import client as pubsub_client
from adapters.gcp_pubsub.config import PubSubConfig
from adapters.gcp_pubsub.message import raw_event
from gateways.inflight import InFlight
from gateways.kinds import SourceContext, SourceKind
from gateways.loopbridge import post, settle
from gateways.source import Origin
from gateways.supervised import SupervisedSource

log = logging.getLogger(__name__)
MAX_TRACKED_FAILURES = 10_000


class _Session:
    """Whether the session still takes messages (read on the client's threads)."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.open = True


class PubSubSource(SupervisedSource[PubSubConfig]):
    kind = "gcp-pubsub"

    def __init__(self, origin: Origin, config: PubSubConfig, context: SourceContext) -> None:
        super().__init__(origin, config, context)
        self.subscription = config.subscription or pubsub_client.default_subscription(
            origin.gateway, origin.source
        )
        self._pool = InFlight(context.max_in_flight, self.label)
        self._credentials: Credentials | None = None
        self._failures: dict[str, int] = {}

    @property
    def where(self) -> str:
        return pubsub_client.where(self.config)

    def describe(self, exc: BaseException) -> str:
        return pubsub_client.describe(exc)

    async def prepare(self) -> None:
        self._credentials = pubsub_client.credentials(self.config)  # raises naming the field

    async def session(self, connected: Callable[[], None]) -> str:  # the session drains the pool
        """Bind the subscription, pull until the pull ends or the session is cancelled."""
        loop = asyncio.get_running_loop()
        subscriber = pubsub_client.subscriber(self.config, self._credentials)
        future: Any = None
        state: _Session | None = None
        try:
            topic = await asyncio.to_thread(
                pubsub_client.ensure_subscription, subscriber, self.config, self.subscription
            )
            state = _Session(topic)
            session = state
            ended: asyncio.Future[str] = loop.create_future()

            def callback(message: Message) -> None:  # on the client's threads
                if not session.open:
                    message.nack()
                    return
                try:
                    self._pool.submit_from_thread(loop, self._handle(message, session))
                except RuntimeError:  # the loop is gone (shutdown): Pub/Sub redelivers
                    message.nack()

            def done(pull: Any) -> None:
                reason = "streaming pull ended"
                if not pull.cancelled() and pull.exception() is not None:
                    reason = f"streaming pull: {pubsub_client.describe(pull.exception())}"
                post(loop, settle, ended, reason)

            path = subscriber.subscription_path(self.config.project_id, self.subscription)
            future = subscriber.subscribe(
                path,
                callback,
                flow_control=pubsub_v1.types.FlowControl(max_messages=self._pool.limit),
            )
            future.add_done_callback(done)
            connected()
            return await ended
        finally:
            if state is not None:
                state.open = False  # new messages are nacked; in-flight ones ack on the stream
            await self._pool.drain()
            await asyncio.to_thread(_close, future, subscriber)

    async def _handle(self, message: Message, session: _Session) -> None:
        if not session.open:
            message.nack()
            return
        try:
            await self.emit(raw_event(message, session.topic))
        except asyncio.CancelledError:
            message.nack()
            raise
        except Exception as exc:
            failures = self._failures.get(message.message_id, 0) + 1
            if len(self._failures) >= MAX_TRACKED_FAILURES:
                self._failures.clear()
            self._failures[message.message_id] = failures
            delay = self.config.backoff.delay(failures - 1)
            log.warning(
                "%s: message %s not delivered (try %d), nack in %.1fs: %s",
                self.label,
                message.message_id,
                failures,
                delay,
                exc,
            )
            try:
                await asyncio.sleep(delay)  # the lease is kept meanwhile; the slot stays taken
            finally:
                message.nack()
        else:
            self._failures.pop(message.message_id, None)
            message.ack()

    async def removed(self) -> None:
        """The entry left the registry: delete the subscription when configured."""
        if not self.config.delete_subscription_on_finish:
            return
        try:
            await asyncio.to_thread(
                pubsub_client.delete_subscription,
                self.config,
                self._credentials,
                self.subscription,
            )
        except Exception as exc:
            log.warning(
                "%s: subscription %s not deleted: %s",
                self.label,
                self.subscription,
                pubsub_client.describe(exc),
            )
        else:
            log.info("%s: subscription %s deleted", self.label, self.subscription)


def _close(future: Any, subscriber: pubsub_v1.SubscriberClient) -> None:
    """Cancel the pull (sending the last acks) and close the client. Blocks."""
    if future is not None:
        future.cancel()
        with contextlib.suppress(Exception):
            future.result(timeout=5)
    with contextlib.suppress(Exception):
        subscriber.close()


KIND = SourceKind(name="gcp-pubsub", config=PubSubConfig, create=PubSubSource)
