"""The framework-free shape of a function: a request in, a response out.

Each function (webhook, calendar, dispatcher) implements :class:`FunctionApp` once. Hosts
adapt it: the aiohttp server in :mod:`gateways.hosting.server` (embedded default and
containers), and the synchronous bridge in :mod:`gateways.hosting.bridge` behind the OpenFaaS
``handle(event, context)`` and functions-framework entry points. All of them call the same code.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    headers: Mapping[str, str]  # lower-case names
    body: bytes = b""
    query: str = ""  # the raw query string, kept as sent

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, document: Any, headers: Mapping[str, str] | None = None) -> Response:
        merged = {"content-type": "application/json", **(headers or {})}
        return cls(status, json.dumps(document).encode(), merged)

    @classmethod
    def error(cls, status: int, message: str, **details: Any) -> Response:
        return cls.json(status, {"error": message, **details})


class FunctionApp(Protocol):
    async def startup(self) -> None:
        """Open connections, load the registry; called once before the first request."""

    async def shutdown(self) -> None:
        """Finish in-flight work and release everything."""

    async def handle(self, request: Request) -> Response:
        """Answer one request. A 2xx answer means the work it asked for is done."""
