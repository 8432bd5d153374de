"""AWS SNS sources: an endpoint subscribed to one topic.

Each message is checked before anything else happens: it must be SNS JSON for this source's
topic, and (unless ``verifySignatures`` is false, for local emulators only) signed by SNS with
a certificate from an allowed host. Then a ``SubscriptionConfirmation`` is confirmed by
visiting its ``SubscribeURL`` (allowed hosts only), an ``UnsubscribeConfirmation`` is logged
and shown in the source's status, and a ``Notification`` is delivered; the answer is 200 only
once every watcher took it. On start the hook URL is subscribed to the topic (supervised,
retried); on removal it is unsubscribed when ``deleteHookOnFinish`` says so. The kind's one
declaration, ``KIND``, ends this module.
"""

from __future__ import annotations

import asyncio
import logging

from functions.aws_sns.client import Fetcher, FetchError, Subscriptions
from functions.aws_sns.config import SNSConfig
from functions.aws_sns.message import (
    SUBSCRIPTION_CONFIRMATION,
    UNSUBSCRIBE_CONFIRMATION,
    MessageError,
    SNSMessage,
    parse,
    to_raw_event,
)
from functions.aws_sns.signature import (
    MissingSignatureError,
    SignatureError,
    allowed_url,
    signing_certificate_url,
    verify,
)
from gateways.function import Request, Response
from gateways.hooks.source import HookSource
from gateways.kinds import SourceKind
from gateways.secrets import resolve

log = logging.getLogger(__name__)


class SNSSource(HookSource[SNSConfig]):
    kind = "aws-sns"
    registers = True
    subscription_arn: str | None = None
    _subscriptions: Subscriptions | None = None
    _fetcher: Fetcher | None = None
    _unsubscribed = False

    async def prepare(self) -> None:
        config = self.config
        access_key = resolve(config.access_key) if config.access_key else None
        secret_key = resolve(config.secret_key) if config.secret_key else None
        self._subscriptions = Subscriptions(config, access_key, secret_key)
        self._fetcher = Fetcher(config.ca_cert_path)
        if not config.verify_signatures:
            log.warning(
                "%s: verifySignatures is false: messages are NOT checked to come from SNS"
                " (meant for local emulators only)",
                self.label,
            )

    async def stop(self) -> None:
        await super().stop()
        if self._fetcher is not None:
            await self._fetcher.close()

    @property
    def fetcher(self) -> Fetcher:
        assert self._fetcher is not None, "the source has not started"
        return self._fetcher

    # ------------------------------------------------------------------ receiving

    async def handle(self, request: Request) -> Response:
        if (request.header("x-amz-sns-rawdelivery") or "").lower() == "true":
            return Response.error(
                400, "raw message delivery carries no signature; turn it off for this endpoint"
            )
        try:
            message = parse(request.body)
        except MessageError as exc:
            return Response.error(400, f"not an SNS message: {exc}")
        if message.topic_arn != self.config.topic_arn:
            log.warning("%s: refused a message for topic %.200s", self.label, message.topic_arn)
            return Response.error(403, "TopicArn is not this source's topic")
        if self.config.verify_signatures:
            refused = await self._check_signature(message)
            if refused is not None:
                return refused
        if message.type == SUBSCRIPTION_CONFIRMATION:
            return await self._confirm(message)
        if message.type == UNSUBSCRIBE_CONFIRMATION:
            return self._unsubscribed_by(message)
        return await self.deliver([to_raw_event(message)], messageId=message.message_id)

    async def _check_signature(self, message: SNSMessage) -> Response | None:
        try:
            url = signing_certificate_url(message, self.config.allowed_hosts)
            key = await self.fetcher.certificate_key(url)
            verify(message, key)
        except MissingSignatureError as exc:
            return Response.error(401, str(exc))
        except SignatureError as exc:
            log.warning("%s: refused %s %s: %s", self.label, message.type, _id(message), exc)
            return Response.error(403, str(exc))
        except FetchError as exc:
            log.warning("%s: signing certificate not fetched: %s", self.label, exc)
            return Response.error(502, f"signing certificate not fetched: {exc}")
        return None

    async def _confirm(self, message: SNSMessage) -> Response:
        try:
            url = allowed_url(
                message.field("SubscribeURL") or "", self.config.allowed_hosts, "SubscribeURL"
            )
        except SignatureError as exc:
            log.warning("%s: subscription not confirmed: %s", self.label, exc)
            return Response.error(403, str(exc))
        try:
            arn = await self.fetcher.confirm(url)
        except FetchError as exc:
            log.warning("%s: subscription not confirmed: %s", self.label, exc)
            return Response.error(502, f"subscription not confirmed: {exc}")
        self.subscription_arn = arn or self.subscription_arn
        log.info("%s: subscription to %s confirmed (%s)", self.label, message.topic_arn, arn)
        if self._unsubscribed:
            self._unsubscribed = False
            self._report("running", "")
        return Response.json(200, {"status": "confirmed", "subscriptionArn": arn})

    def _unsubscribed_by(self, message: SNSMessage) -> Response:
        log.warning(
            "%s: SNS unsubscribed this endpoint from %s (%s)",
            self.label,
            message.topic_arn,
            _id(message),
        )
        if self.route is not None:
            self._unsubscribed = True
            self._report(
                "degraded",
                f"unsubscribed from {message.topic_arn} at {message.field('Timestamp')}:"
                " no notifications arrive until it is subscribed again",
            )
        return Response.json(200, {"status": "unsubscribed"})

    # ------------------------------------------------------------------ the subscription

    async def register(self) -> None:
        assert self._subscriptions is not None
        arn, new = await asyncio.to_thread(self._subscriptions.ensure)
        self.subscription_arn = arn
        if new:
            log.info(
                "%s: subscribed %s to %s", self.label, self.config.hook.url, self.config.topic_arn
            )
        else:
            log.info("%s: subscription %s reused", self.label, arn)

    async def deregister(self) -> None:
        if not self.config.delete_hook_on_finish or self._subscriptions is None:
            return
        removed = await asyncio.to_thread(self._subscriptions.remove)
        log.info("%s: unsubscribed %s", self.label, ", ".join(removed) or "(nothing to remove)")


def _id(message: SNSMessage) -> str:
    return f"message {message.message_id[:80]}"


KIND = SourceKind(name="aws-sns", config=SNSConfig, create=SNSSource, served_by="webhook")
