"""An HTTP request to a webhook endpoint -> the raw event it becomes.

The body travels as it came; the method, the query string and the headers (minus hop-by-hop
headers and credentials, which never leave the gateway) become CloudEvent extensions. The
request's own headers stay on the raw event with the ``http`` binding, so a request that
already is a binary-mode CloudEvent passes through unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from gateways.function import Request
from gateways.source import RawEvent

# Not forwarded to watchers: hop-by-hop headers, and credentials (secrets never leave here).
DROPPED_HEADERS = frozenset(
    {
        "authorization",
        "connection",
        "keep-alive",
        "transfer-encoding",
        "content-length",
        "te",
        "upgrade",
    }
)


def to_raw_event(request: Request) -> RawEvent:
    """The raw event of one accepted request (``request.headers`` have lower-case names)."""
    extensions = {"httpmethod": request.method, "httpheaders": forwarded_headers(request.headers)}
    if request.query:
        extensions["httpquery"] = request.query
    return RawEvent(
        payload=request.body,
        content_type=request.headers.get("content-type"),
        subject=request.path,
        action="request",
        extensions=extensions,
        headers=request.headers,
        binding="http",
    )


def forwarded_headers(headers: Mapping[str, str]) -> str:
    """The ``httpheaders`` extension: the headers watchers may see, as sorted JSON."""
    kept = {name: value for name, value in headers.items() if name not in DROPPED_HEADERS}
    return json.dumps(kept, sort_keys=True)
