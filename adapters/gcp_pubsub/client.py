"""The Pub/Sub client of one source: credentials, the subscriber, the subscription.

:func:`credentials` reads ``credentialsFile`` (a service account key) when the source starts;
a file that cannot be used raises GatewayError naming the field, so the source is marked failed
with that reason. An emulator (``endpoint``, or ``PUBSUB_EMULATOR_HOST`` in the environment)
takes no credentials. :func:`ensure_subscription` binds the configured subscription or creates
it for the topic; it blocks, and runs on a worker thread.
"""

from __future__ import annotations

import contextlib
import os
import re
from typing import Any

import grpc
from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials, Credentials
from google.cloud import pubsub_v1
from google.oauth2 import service_account
from google.pubsub_v1.services.subscriber.transports import SubscriberGrpcTransport

from adapters.gcp_pubsub.config import PubSubConfig
from gateways.errors import GatewayError

EMULATOR_ENV = "PUBSUB_EMULATOR_HOST"
SERVICE = "pubsub.googleapis.com"
SCOPES = ("https://www.googleapis.com/auth/pubsub",)
CALL_TIMEOUT = 10.0
_NOT_IN_ID = re.compile(r"[^A-Za-z0-9._~+%-]")


def emulator(config: PubSubConfig) -> str | None:
    """The emulator's host:port: ``endpoint``, else ``PUBSUB_EMULATOR_HOST``, else None."""
    return config.endpoint or os.environ.get(EMULATOR_ENV) or None


def where(config: PubSubConfig) -> str:
    return emulator(config) or SERVICE


def default_subscription(gateway: str, source: str) -> str:
    """``gateways-<gateway>-<source>``, made a valid subscription id (stable across restarts)."""
    return _NOT_IN_ID.sub("-", f"gateways-{gateway}-{source}")[:255]


def credentials(config: PubSubConfig) -> Credentials | None:
    """The service account of ``credentialsFile``; None for an emulator or the default ones."""
    if emulator(config) or not config.credentials_file:
        return None
    try:
        found: Credentials = service_account.Credentials.from_service_account_file(
            config.credentials_file, scopes=SCOPES
        )
    except (OSError, ValueError) as exc:
        raise GatewayError(f"credentialsFile: {config.credentials_file}: {exc}") from None
    return found


def subscriber(config: PubSubConfig, found: Credentials | None) -> pubsub_v1.SubscriberClient:
    """A subscriber client: plain gRPC to an ``endpoint`` emulator (the library itself honours
    ``PUBSUB_EMULATOR_HOST``), else the service with the given or the default credentials."""
    if config.endpoint:
        channel = grpc.insecure_channel(config.endpoint)
        return pubsub_v1.SubscriberClient(transport=SubscriberGrpcTransport(channel=channel))
    if emulator(config):
        return pubsub_v1.SubscriberClient(credentials=AnonymousCredentials())
    if found is not None:
        return pubsub_v1.SubscriberClient(credentials=found)
    return pubsub_v1.SubscriberClient()


def ensure_subscription(
    client: pubsub_v1.SubscriberClient, config: PubSubConfig, subscription: str
) -> str:
    """Bind ``subscription`` (in ``projectID``), creating it for the topic (message ordering
    enabled) when it does not exist; returns the topic's id. Blocks."""
    path = client.subscription_path(config.project_id, subscription)
    topic_path = (
        client.topic_path(config.topic_project, config.topic) if config.topic is not None else None
    )
    try:
        found = client.get_subscription(subscription=path, timeout=CALL_TIMEOUT)
    except exceptions.NotFound:
        if topic_path is None:
            raise GatewayError(
                f"subscription: no subscription {subscription!r} in project "
                f"{config.project_id!r} (and no topic to create it for)"
            ) from None
        try:
            client.create_subscription(
                request={"name": path, "topic": topic_path, "enable_message_ordering": True},
                timeout=CALL_TIMEOUT,
            )
        except exceptions.AlreadyExists:
            pass  # another replica created it meanwhile
        except exceptions.NotFound:
            raise GatewayError(f"topic: no topic {topic_path!r}") from None
        return str(config.topic)
    if topic_path is not None and found.topic != topic_path:
        raise GatewayError(
            f"subscription: {subscription!r} belongs to {found.topic!r}, not {topic_path!r}"
        )
    return str(found.topic).rsplit("/", 1)[-1]


def delete_subscription(config: PubSubConfig, found: Credentials | None, subscription: str) -> None:
    """Delete the subscription (already gone is fine). Blocks."""
    client = subscriber(config, found)
    try:
        path = client.subscription_path(config.project_id, subscription)
        with contextlib.suppress(exceptions.NotFound):
            client.delete_subscription(subscription=path, timeout=CALL_TIMEOUT)
    finally:
        client.close()


def describe(exc: BaseException) -> str:
    """A client error as a short reason: the service's own message, else the text."""
    message: Any = getattr(exc, "message", None)
    if isinstance(exc, exceptions.GoogleAPICallError) and message:
        return f"{type(exc).__name__}: {message}"
    return str(exc) or type(exc).__name__
