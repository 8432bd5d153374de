"""Smoke test: the NATS servers from scripts/services, through nats-py."""

from __future__ import annotations

import asyncio
import uuid

import nats
import pytest
from nats.js.api import AckPolicy, ConsumerConfig, StorageType

from tests.servicekit import NatsService

pytestmark = [pytest.mark.nats, pytest.mark.timeout(60)]


async def _quiet(_exc: Exception) -> None:
    """Error callback: connection errors are asserted on, not logged."""


async def test_publish_subscribe(nats_service: NatsService) -> None:
    nc = await nats.connect(nats_service.url, error_cb=_quiet)
    try:
        subject = f"gw.smoke.{uuid.uuid4().hex}"
        sub = await nc.subscribe(subject)
        await nc.publish(subject, b"hello")
        msg = await sub.next_msg(timeout=5)
        assert msg.data == b"hello"
        assert msg.subject == subject
    finally:
        await nc.drain()


async def test_jetstream_explicit_ack_and_redelivery(nats_service: NatsService) -> None:
    nc = await nats.connect(nats_service.url, error_cb=_quiet)
    js = nc.jetstream()
    tag = uuid.uuid4().hex[:12]
    stream, subject = f"GW_SMOKE_{tag}", f"gw.js.{tag}"
    await js.add_stream(name=stream, subjects=[subject], storage=StorageType.FILE)
    try:
        await js.publish(subject, b"acked")
        await js.publish(subject, b"not-acked")
        psub = await js.pull_subscribe(
            subject,
            durable=f"smoke_{tag}",
            config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=1.0),
        )

        first = await psub.fetch(2, timeout=5)
        assert [m.data for m in first] == [b"acked", b"not-acked"]
        assert all(m.metadata.num_delivered == 1 for m in first)
        await first[0].ack()

        await asyncio.sleep(1.5)  # past ack_wait: only the un-acked message comes back
        again = await psub.fetch(1, timeout=5)
        assert [m.data for m in again] == [b"not-acked"]
        assert again[0].metadata.num_delivered == 2
        await again[0].ack()

        await asyncio.sleep(1.5)
        with pytest.raises(nats.errors.TimeoutError):
            await psub.fetch(1, timeout=2)
        info = await js.consumer_info(stream, f"smoke_{tag}")
        assert info.num_ack_pending == 0
        assert info.num_pending == 0
        await psub.unsubscribe()
    finally:
        await js.delete_stream(stream)
        await nc.close()


async def test_user_password_listener(nats_service: NatsService) -> None:
    nc = await nats.connect(
        nats_service.auth_url,
        user=nats_service.user,
        password=nats_service.password,
        error_cb=_quiet,
    )
    try:
        subject = f"gw.auth.{uuid.uuid4().hex}"
        sub = await nc.subscribe(subject)
        await nc.publish(subject, b"authorised")
        assert (await sub.next_msg(timeout=5)).data == b"authorised"
    finally:
        await nc.drain()

    with pytest.raises(nats.errors.Error, match=r"(?i)authorization"):
        await nats.connect(
            nats_service.auth_url,
            user=nats_service.user,
            password="wrong-password",
            allow_reconnect=False,
            connect_timeout=3,
            error_cb=_quiet,
        )
    with pytest.raises(nats.errors.Error, match=r"(?i)authorization"):
        await nats.connect(
            nats_service.auth_url, allow_reconnect=False, connect_timeout=3, error_cb=_quiet
        )
