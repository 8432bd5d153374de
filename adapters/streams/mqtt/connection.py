"""The broker connection of an MQTT source: connect, subscribe, and reconnect with the backoff.

Each connection gets a number (``generation``); ``connected`` is the number of the live one, or
None. paho's callbacks run on its network thread and reach asyncio with
``call_soon_threadsafe``. Broker loss and recovery are reported through ``on_status``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

from adapters.streams.mqtt.client import (
    KEEPALIVE,
    PERMANENT_REFUSALS,
    build_client,
    connect_arguments,
    subscription,
    subscription_qos,
)
from gateways.config.common import redact_url
from gateways.config.mqtt import MQTTConfig
from gateways.errors import GatewayError
from gateways.loopbridge import post, settle

log = logging.getLogger(__name__)

HANDSHAKE_TIMEOUT = 10.0  # seconds to wait for CONNACK, then for SUBACK
OnMessage = Callable[[mqtt.MQTTMessage, int], None]  # (message, generation), on paho's thread
OnStatus = Callable[[str, str], None]  # (state, reason), on the event loop


class _Failure(Exception):
    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent


class Connection:
    def __init__(
        self,
        config: MQTTConfig,
        name: str,
        on_message: OnMessage,
        on_status: OnStatus,
        receive_maximum: int,
    ) -> None:
        self.config = config
        self.generation = 0
        self.connected: int | None = None
        self._name = name
        self._on_message = on_message
        self._on_status = on_status
        self._receive_maximum = receive_maximum
        self._state = "running"
        self._failures = 0
        self._subscribed = False
        self._closing = False
        self._supervisor: asyncio.Task[None] | None = None
        self.client = build_client(config)
        self.client.on_connect = self._connected
        self.client.on_subscribe = self._subscribe_answered
        self.client.on_disconnect = self._disconnected
        self.client.on_message = self._message

    async def open(self) -> None:
        """Connect and subscribe. Returns once subscribed, or after a first failure that a
        retry may cure (the retries go on in the background); raises GatewayError when the
        broker refuses for good (credentials, authorisation, topic)."""
        self._loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = self._loop.create_future()
        self._supervisor = asyncio.create_task(self._supervise(ready))
        await ready

    def ack(self, message: mqtt.MQTTMessage, generation: int) -> None:
        # After a reconnect the broker resends an unacked message itself, and that copy is
        # acked; its packet id may meanwhile name another message, so this one is not.
        if message.qos > 0 and generation == self.connected:
            self.client.ack(message.mid, message.qos)

    async def close(self) -> None:
        """Send what is queued (acks) and DISCONNECT; the broker keeps the session."""
        self._closing = True
        self.client.disconnect()
        if self._supervisor is not None:
            self._supervisor.cancel()
            await asyncio.gather(self._supervisor, return_exceptions=True)
        await asyncio.to_thread(self.client.loop_stop)

    # ---------------------------------------------------------------- event loop

    async def _supervise(self, ready: asyncio.Future[None]) -> None:
        try:
            await self._reconnect_loop(ready)
        except Exception as exc:  # a bug must not leave open() waiting or the source silent
            log.exception("mqtt %s: connection supervisor failed", self._name)
            if not ready.done():
                ready.set_exception(GatewayError(f"mqtt client failed: {exc}"))
            self._report("failed", f"mqtt client failed: {exc}")

    async def _reconnect_loop(self, ready: asyncio.Future[None]) -> None:
        while not self._closing:
            try:
                await self._session(ready)
                continue
            except _Failure as failure:
                problem = failure
            if self._closing:
                return
            reason = f"{redact_url(self.config.url)}: {problem}"
            if not ready.done():
                if problem.permanent:
                    ready.set_exception(GatewayError(reason))
                    return
                ready.set_result(None)
                # Reported once start() has returned and the source is registered as running.
                self._loop.call_soon(self._report, "degraded", reason)
            else:
                self._report("degraded", reason)
            if self.config.backoff.exhausted(self._failures):
                self._report("failed", f"{reason}; gave up after {self._failures} retries")
                return
            delay = self.config.backoff.delay(self._failures)
            self._failures += 1
            log.warning("mqtt %s: %s; reconnecting in %.1fs", self._name, reason, delay)
            await asyncio.sleep(delay)

    async def _session(self, ready: asyncio.Future[None]) -> None:
        """One connection: connect, subscribe, then wait until it is lost (raises _Failure)."""
        self.generation += 1
        generation = self.generation
        self._connack: asyncio.Future[bool] = self._loop.create_future()
        self._suback: asyncio.Future[None] = self._loop.create_future()
        self._lost: asyncio.Future[str] = self._loop.create_future()
        config, client = self.config, self.client
        arguments = connect_arguments(config, self._receive_maximum)
        try:
            await asyncio.to_thread(
                client.connect, config.host, config.port, KEEPALIVE, **arguments
            )
        except (OSError, ValueError) as exc:
            raise _Failure(f"cannot connect: {exc}") from None
        client.loop_start()
        try:
            session_present = await self._handshake(self._connack, "CONNACK")
            # A kept session resends unacked messages right away, before any SUBACK.
            self.connected = generation
            if not (session_present and self._subscribed):
                client.subscribe(**subscription(config))
                await self._handshake(self._suback, "SUBACK")
                self._subscribed = True
            self._failures = 0
            if not ready.done():
                ready.set_result(None)
            else:
                self._report("running", "reconnected")
            raise _Failure(await self._lost)
        finally:
            self.connected = None
            client.disconnect()
            await asyncio.to_thread(client.loop_stop)

    async def _handshake(self, answer: asyncio.Future[Any], packet: str) -> Any:
        waiters = {answer, self._lost}
        done, _ = await asyncio.wait(
            waiters, timeout=HANDSHAKE_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
        )
        if answer in done:
            return answer.result()  # raises the _Failure a refusal was set with
        if self._lost in done:
            raise _Failure(f"connection lost before {packet}: {self._lost.result()}")
        raise _Failure(f"no {packet} within {HANDSHAKE_TIMEOUT:g}s")

    def _report(self, state: str, reason: str) -> None:
        if state != self._state and not self._closing:
            self._state = state
            self._on_status(state, reason)

    # ---------------------------------------------------------------- paho's thread

    def _connected(self, _c: Any, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            permanent = reason.value in PERMANENT_REFUSALS
            refusal = _Failure(f"connection refused: {reason}", permanent=permanent)
            post(self._loop, settle, self._connack, None, refusal)
        else:
            post(self._loop, settle, self._connack, bool(flags.session_present), None)

    def _subscribe_answered(self, _c: Any, _u: Any, _mid: int, reasons: list[Any], _p: Any) -> None:
        failed = [reason for reason in reasons if reason.is_failure]
        refusal = None
        if failed:
            refusal = _Failure(
                f"subscription to {self.config.topic!r} refused: {failed[0]}", permanent=True
            )
        wanted = subscription_qos(self.config)
        if not failed and reasons and reasons[0].value < wanted:
            log.warning(
                "mqtt %s: the broker granted QoS %s, not %s", self._name, reasons[0].value, wanted
            )
        post(self._loop, settle, self._suback, None, refusal)

    def _disconnected(self, _c: Any, _u: Any, _flags: Any, reason: Any, _p: Any) -> None:
        post(self._loop, settle, self._lost, f"disconnected: {reason}", None)

    def _message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        self._on_message(message, self.generation)
