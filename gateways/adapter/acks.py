"""The client's acknowledgements on one StartEventSourceAcked stream, written by one task.

Outcomes are collected as events settle and written in as few ``Ack`` messages as possible
(every delivered id in one, rejected ids grouped by reason): grpc.aio allows one write at a
time per call, and fewer messages cost less. ``finish`` flushes and then half-closes the
stream, which tells the server to stop the source.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from gateways.protocol import eventing_pb2 as pb

log = logging.getLogger(__name__)


class AckWriter:
    def __init__(self, call: Any, label: str) -> None:
        self._call = call
        self._label = label
        self._accepted: list[int] = []
        self._rejected: dict[str, list[int]] = {}
        self._ready = asyncio.Event()
        self._finishing = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._write(), name=f"acks {self._label}")

    def accept(self, delivery_id: int) -> None:
        self._accepted.append(delivery_id)
        self._ready.set()

    def reject(self, delivery_id: int, reason: str) -> None:
        self._rejected.setdefault(reason, []).append(delivery_id)
        self._ready.set()

    def finish(self) -> None:
        """Write what is pending, then half-close the stream."""
        self._finishing = True
        self._ready.set()

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                if not self._task.cancelled():
                    raise  # close itself was cancelled

    async def _write(self) -> None:
        try:
            while True:
                await self._ready.wait()
                self._ready.clear()
                accepted, self._accepted = self._accepted, []
                rejected, self._rejected = self._rejected, {}
                if accepted:
                    await self._call.write(
                        pb.ClientMessage(ack=pb.Ack(deliveryIds=accepted, ok=True))
                    )
                for reason, ids in rejected.items():
                    await self._call.write(
                        pb.ClientMessage(ack=pb.Ack(deliveryIds=ids, ok=False, reason=reason))
                    )
                if self._finishing and not self._accepted and not self._rejected:
                    await self._call.done_writing()
                    return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the stream ended: the server treats unacked events as rejected
            log.debug("%s: acknowledgements not written: %s", self._label, exc)
