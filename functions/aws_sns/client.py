"""Talking to SNS: the topic subscription through boto3, and the two https fetches a message
asks for (its signing certificate; a subscription's ``SubscribeURL``).

boto3 is blocking; the source calls :class:`Subscriptions` through ``asyncio.to_thread``.
:class:`Fetcher` only fetches URLs that :func:`~functions.aws_sns.signature.allowed_url`
passed, never follows a redirect, reads at most 64 KiB, and keeps the last certificates' keys.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections import OrderedDict
from typing import Any

import aiohttp
import boto3
from botocore.config import Config
from cryptography.hazmat.primitives.asymmetric import rsa
from yarl import URL

from functions.aws_sns.config import SNSConfig
from functions.aws_sns.signature import public_key
from gateways.errors import GatewayError

MAX_DOCUMENT = 64 << 10
CACHED_CERTIFICATES = 16
FETCH_TIMEOUT = 10.0
_SUBSCRIPTION_ARN = re.compile(r"<SubscriptionArn>([^<]{1,512})</SubscriptionArn>")


class FetchError(GatewayError):
    """An allowed URL could not be fetched (a 502: SNS retries the message)."""


class Fetcher:
    """Https GETs to SNS, with the config's trust roots; one session, closed by ``close``."""

    def __init__(self, ca_cert_path: str | None = None) -> None:
        try:
            self._ssl = ssl.create_default_context(cafile=ca_cert_path)
        except (OSError, ssl.SSLError) as exc:
            raise GatewayError(f"caCertPath: {ca_cert_path}: cannot load: {exc}") from None
        self._session: aiohttp.ClientSession | None = None
        self._keys: OrderedDict[str, rsa.RSAPublicKey] = OrderedDict()
        self._lock = asyncio.Lock()

    async def certificate_key(self, url: URL) -> rsa.RSAPublicKey:
        """The public key of the certificate at ``url`` (fetched once, then cached)."""
        async with self._lock:
            key = self._keys.get(str(url))
            if key is not None:
                self._keys.move_to_end(str(url))
                return key
            status, body = await self._get(url)
            if status != 200:
                raise FetchError(f"signing certificate: {status} from {url.host}")
            key = public_key(body)  # SignatureError when it is no certificate
            self._keys[str(url)] = key
            while len(self._keys) > CACHED_CERTIFICATES:
                self._keys.popitem(last=False)
            return key

    async def confirm(self, url: URL) -> str | None:
        """Visit ``SubscribeURL``; the confirmed subscription's ARN when SNS names it."""
        status, body = await self._get(url)
        if status != 200:
            raise FetchError(f"SubscribeURL: {status} from {url.host}")
        found = _SUBSCRIPTION_ARN.search(body.decode("utf-8", "replace"))
        return found.group(1) if found else None

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def _get(self, url: URL) -> tuple[int, bytes]:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=FETCH_TIMEOUT)
            )
        try:
            async with self._session.get(url, ssl=self._ssl, allow_redirects=False) as reply:
                body = bytearray()
                async for chunk in reply.content.iter_chunked(8192):
                    body += chunk
                    if len(body) > MAX_DOCUMENT:
                        raise FetchError(f"{url.host} sent more than {MAX_DOCUMENT} bytes")
                return reply.status, bytes(body)
        except TimeoutError:
            raise FetchError(f"{url.host} did not answer within {FETCH_TIMEOUT:g}s") from None
        except aiohttp.ClientError as exc:
            raise FetchError(f"{url.host}: {type(exc).__name__}: {exc}") from None


class Subscriptions:
    """The subscription of ``hook.url`` to ``topicArn``, through boto3 (blocking calls)."""

    def __init__(self, config: SNSConfig, access_key: str | None, secret_key: str | None) -> None:
        self.config = config
        self._credentials = {"aws_access_key_id": access_key, "aws_secret_access_key": secret_key}
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            session = boto3.session.Session(region_name=self.config.region, **self._credentials)
            self._client = session.client(
                "sns",
                endpoint_url=self.config.endpoint,
                config=Config(
                    retries={"max_attempts": 2, "mode": "standard"},
                    connect_timeout=5,
                    read_timeout=20,
                ),
            )
        return self._client

    def ours(self) -> list[dict[str, str]]:
        """The topic's subscriptions of this endpoint (confirmed or pending)."""
        found = []
        pages = self.client.get_paginator("list_subscriptions_by_topic")
        for page in pages.paginate(TopicArn=self.config.topic_arn):
            for subscription in page.get("Subscriptions", []):
                if (
                    subscription.get("Endpoint") == self.config.hook.url
                    and subscription.get("Protocol") == self.config.protocol
                ):
                    found.append(subscription)
        return found

    def ensure(self) -> tuple[str, bool]:
        """Reuse a confirmed subscription of this endpoint, else subscribe (SNS then sends a
        confirmation; subscribing again re-sends it). Returns (ARN, whether it is new)."""
        for subscription in self.ours():
            arn = subscription["SubscriptionArn"]
            if arn.startswith("arn:"):
                self._signed_envelopes(arn)
                return arn, False
        reply = self.client.subscribe(
            TopicArn=self.config.topic_arn,
            Protocol=self.config.protocol,
            Endpoint=self.config.hook.url,
            ReturnSubscriptionArn=True,
        )
        return str(reply["SubscriptionArn"]), True

    def remove(self) -> list[str]:
        """Unsubscribe every confirmed subscription of this endpoint; their ARNs."""
        removed = []
        for subscription in self.ours():
            arn = subscription["SubscriptionArn"]
            if arn.startswith("arn:"):
                self.client.unsubscribe(SubscriptionArn=arn)
                removed.append(arn)
        return removed

    def _signed_envelopes(self, arn: str) -> None:
        """Raw message delivery drops the signed envelope: turn it off on a reused one."""
        reply = self.client.get_subscription_attributes(SubscriptionArn=arn)
        if reply.get("Attributes", {}).get("RawMessageDelivery") == "true":
            self.client.set_subscription_attributes(
                SubscriptionArn=arn, AttributeName="RawMessageDelivery", AttributeValue="false"
            )
