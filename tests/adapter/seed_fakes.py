"""Stand-ins for gateway-era event-source servers, for unit tests of the client's own logic.

They answer as the seed's releases did on the wire (see the README's protocol matrix): a
``versioned`` one (v0.10, v0.11) refuses every source whose field 4 is not its version, with
that release's reason; a ``typed`` one (v0.12 to v0.15) reads field 4 as the gateway type.
Neither has ``StartEventSourceAcked``. The proof against the real servers is
tests/seed_servers/.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import grpc

from gateways.protocol import eventing_pb2 as pb
from gateways.protocol import eventing_pb2_grpc as rpc


@dataclass
class SeedServer(rpc.EventingServicer):  # type: ignore[misc]
    """Runs ``interval-ms: N`` sources; ``version`` set: a v0.10-style server, else v0.12-style."""

    kind: str = "calendar"
    version: str = ""
    seen: list[str] = field(default_factory=list)  # field 4 of every request, in order
    streams: int = 0  # StartEventSource calls so far
    address: str = ""
    _server: Any = None

    async def ValidateEventSource(self, request: Any, context: Any) -> Any:
        return pb.ValidEventSource(**self._judge(request))

    async def StartEventSource(self, request: Any, context: Any) -> Any:
        judged = self._judge(request)
        if not judged["isValid"]:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, judged["reason"])
        self.streams += 1
        period = int(_config(request)["interval-ms"]) / 1000
        number = 0
        while True:
            number += 1
            yield pb.Event(name=request.name, payload=json.dumps({"n": number}).encode())
            await asyncio.sleep(period)

    def _judge(self, request: Any) -> dict[str, Any]:
        self.seen.append(request.type)
        if self.version and request.type != self.version:
            return {
                "isValid": False,
                "reason": "event source version mismatch. gateway expects"
                f" {self.version} version, and provided version is {request.type}",
            }
        if not self.version and request.type != self.kind:
            return {"isValid": False, "reason": f"event source is not type of {self.kind}"}
        if not _config(request).get("interval-ms", "").isdigit():
            return {"isValid": False, "reason": "interval-ms must be a number of milliseconds"}
        return {"isValid": True}

    async def start(
        self, address: str = "127.0.0.1:0", tls: tuple[bytes, bytes] | None = None
    ) -> SeedServer:
        """Listen on ``address``; with ``tls`` (certificate, key) over TLS."""
        self._server = grpc.aio.server()
        rpc.add_EventingServicer_to_server(self, self._server)
        if tls is None:
            port = self._server.add_insecure_port(address)
        else:
            credentials = grpc.ssl_server_credentials([(tls[1], tls[0])])
            port = self._server.add_secure_port(address, credentials)
        self.address = address if address.startswith("unix:") else f"127.0.0.1:{port}"
        await self._server.start()
        return self

    async def stop(self) -> None:
        await self._server.stop(0)


def _config(request: Any) -> dict[str, str]:
    lines = request.value.decode().splitlines()
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
