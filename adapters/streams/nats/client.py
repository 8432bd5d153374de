"""The NATS connection of one source: options from its config, connect, subscribe, close.

:func:`connect_options` reads TLS (the core's :func:`gateways.tls.client_context`) and
credentials; its problems name the config field (``tls.caCertPath: ...``,
``auth.password: ...``) and are raised when the source starts, so it is marked failed with that
reason. :func:`connect` opens one connection without nats-py's own reconnecting: the source's
supervisor reconnects with the source's backoff, and resubscribes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import nats
from nats.aio.client import Client
from nats.aio.subscription import Subscription
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError

from adapters.streams.nats.config import NATSConfig
from gateways.config.common import SecretRef
from gateways.errors import GatewayError
from gateways.secrets import SecretNotFoundError, resolve
from gateways.tls import client_context

CONNECT_TIMEOUT = 5
CORE_PENDING_LIMIT = 65_536
_POLICIES = {"all": DeliverPolicy.ALL, "new": DeliverPolicy.NEW, "last": DeliverPolicy.LAST}


def connect_options(config: NATSConfig) -> dict[str, Any]:
    """nats-py's TLS and credential options; GatewayError names the field that cannot be used."""
    options: dict[str, Any] = {}
    if config.secure:
        options["tls"] = client_context(config.tls)
    auth = config.auth
    if auth is not None:
        if auth.basic is not None:
            options["user"] = auth.basic.username
            password = auth.basic.password
            options["password"] = _secret(password, "auth.password") if password else ""
        if auth.token is not None:
            options["token"] = _secret(auth.token, "auth.token")
        if auth.credentials_file:
            options["user_credentials"] = auth.credentials_file
    return options


async def connect(
    config: NATSConfig,
    options: dict[str, Any],
    name: str,
    lost: Callable[[], Awaitable[None]],
    error: Callable[[Exception], Awaitable[None]],
) -> Client:
    """One connection; ``lost`` is called when it is disconnected or closed."""
    return await nats.connect(
        servers=[config.url],
        name=name,
        allow_reconnect=False,
        max_reconnect_attempts=1,
        reconnect_time_wait=0,
        connect_timeout=CONNECT_TIMEOUT,
        disconnected_cb=lost,
        closed_cb=lost,
        error_cb=error,
        **options,
    )


async def subscribe_core(client: Client, config: NATSConfig) -> Subscription:
    """The subscription, known to the server on return (core NATS keeps nothing for later)."""
    subscription = await client.subscribe(
        config.subject, queue=config.queue or "", pending_msgs_limit=CORE_PENDING_LIMIT
    )
    await client.flush(timeout=CONNECT_TIMEOUT)
    return subscription


async def subscribe_jetstream(
    client: Client, config: NATSConfig
) -> JetStreamContext.PullSubscription:
    """The durable pull consumer (created, or bound when it exists); a missing stream raises
    GatewayError naming the field, and is retried (the stream may be created later)."""
    jet_stream = config.jet_stream
    assert jet_stream is not None
    consumer = ConsumerConfig(
        durable_name=jet_stream.durable,
        deliver_policy=_POLICIES[jet_stream.deliver_policy],
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=jet_stream.ack_wait.total_seconds(),
        max_ack_pending=jet_stream.max_ack_pending,
    )
    try:
        return await client.jetstream().pull_subscribe(
            config.subject, durable=jet_stream.durable, stream=jet_stream.stream, config=consumer
        )
    except NotFoundError:
        missing = (
            f"jetStream.stream: no stream {jet_stream.stream!r}"
            if jet_stream.stream
            else f"jetStream: no stream holds subject {config.subject!r}"
        )
        raise GatewayError(f"{missing} on the server") from None


async def close(client: Client) -> None:
    """Send the last acks and naks, then close; a connection already gone is left alone."""
    if client.is_closed:
        return
    with contextlib.suppress(Exception):
        await client.flush(timeout=1)
    with contextlib.suppress(Exception):
        await client.close()


def describe(exc: BaseException) -> str:
    """A NATS error as a short reason: a JetStream API error's own words, else its text."""
    description = getattr(exc, "description", None)
    text = description or str(exc).removeprefix("nats: ").strip()
    return text or type(exc).__name__


def _secret(ref: SecretRef, field: str) -> str:
    try:
        return resolve(ref)
    except SecretNotFoundError as exc:
        raise GatewayError(f"{field}: {exc}") from None
