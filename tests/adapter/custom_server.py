"""A custom event-source server, written from the README's event-source protocol section alone.

It imports grpcio and the stubs compiled from eventing.proto (``eventing_pb2``), nothing of the
gateway. Its "ticker" sources emit ``count`` numbered events; like a broker it resends every
event the client rejects, and it appends the origin id of every acknowledged event to a file.

    python custom_server.py PORT ACKED_FILE      (eventing_pb2 on PYTHONPATH)
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import eventing_pb2 as pb  # type: ignore[import-not-found]
import eventing_pb2_grpc as rpc  # type: ignore[import-not-found]
import grpc


def problems(source: Any) -> str:
    """Every problem of a ticker config (flat ``key: value`` lines), each naming the field."""
    label = f"{source.type}/{source.name}"
    if source.type != "ticker":
        return f"{label}: this server runs only ticker sources"
    fields = config(source)
    found = []
    if "count" not in fields:
        found.append(f"{label}: count: is required")
    elif not fields["count"].isdigit():
        found.append(f"{label}: count: {fields['count']!r} is not an integer")
    return "; ".join(found)


def config(source: Any) -> dict[str, str]:
    fields = {}
    for line in source.value.decode().splitlines():
        key, _, value = line.partition(":")
        if key.strip() and not line.startswith(" "):
            fields[key.strip()] = value.strip().strip("'\"")
    return fields


class Ticker(rpc.EventingServicer):  # type: ignore[misc]
    def __init__(self, acked_file: str) -> None:
        self.acked_file = acked_file

    async def ValidateEventSource(self, source: Any, context: Any) -> Any:
        reason = problems(source)
        return pb.ValidEventSource(isValid=not reason, reason=reason)

    async def StartEventSourceAcked(self, requests: AsyncIterator[Any], context: Any) -> Any:
        first = await anext(requests)
        source = first.start.eventSource
        if reason := problems(source):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, reason)
        fields = config(source)
        prefix = fields.get("prefix", "tick")
        todo: asyncio.Queue[int] = asyncio.Queue()
        for number in range(int(fields["count"])):
            todo.put_nowait(number)
        window = asyncio.Semaphore(first.start.maxInFlight or 100)
        sent: dict[int, int] = {}  # delivery id -> event number

        async def settle() -> None:
            async for message in requests:  # ends when the client half-closes
                for delivery_id in message.ack.deliveryIds:
                    number = sent.pop(delivery_id, None)
                    if number is None:
                        continue
                    if message.ack.ok:
                        with open(self.acked_file, "a") as acked:
                            acked.write(f"{prefix}-{number}\n")
                    else:
                        todo.put_nowait(number)  # "nack": the origin redelivers it
                    window.release()
            for number in sent.values():  # unacknowledged at the end: rejected
                todo.put_nowait(number)

        settling = asyncio.create_task(settle())
        yield pb.ServerMessage(status=pb.SourceStatus(state="running"))
        delivery_id = 0
        while not settling.done():
            try:  # a free place in the window, then an event to fill it
                await asyncio.wait_for(window.acquire(), 0.1)
            except TimeoutError:
                continue
            try:
                number = await asyncio.wait_for(todo.get(), 0.1)
            except TimeoutError:
                window.release()
                continue
            delivery_id += 1
            sent[delivery_id] = number
            metadata = pb.EventMetadata(
                contentType="application/json",
                originId=f"{prefix}-{number}",
                subject="ticks",
                time=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                action="tick",
                extensions={"tickernumber": str(number)},
            )
            payload = json.dumps({"number": number, "prefix": prefix}).encode()
            yield pb.ServerMessage(
                event=pb.Event(
                    name=source.name, payload=payload, deliveryId=delivery_id, metadata=metadata
                )
            )


async def main(port: int, acked_file: str) -> None:
    server = grpc.aio.server()
    rpc.add_EventingServicer_to_server(Ticker(acked_file), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    assert not any(name.split(".")[0] == "gateways" for name in sys.modules)
    print("ready", flush=True)
    await server.wait_for_termination()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
