"""A NATS message as a raw event: payload, subject, headers and JetStream metadata kept.

The id is deterministic where the message has an identity: ``<stream>:<stream sequence>`` for
JetStream (a redelivery keeps it), else the publisher's ``Nats-Msg-Id`` header. Headers travel
as RawEvent headers with the ``nats`` binding (so a message that already is a CloudEvent,
``ce-*`` headers, passes through) and as the ``natsheaders`` extension (JSON).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from nats.aio.msg import Msg

from gateways.source import RawEvent

ACTION = "message"


def raw_event(msg: Msg, jetstream: bool) -> RawEvent:
    headers = {str(k): str(v) for k, v in (msg.headers or {}).items()}
    extensions: dict[str, str] = {}
    event_id = _header(headers, "nats-msg-id")
    time = None
    if jetstream:
        metadata = msg.metadata
        event_id = f"{metadata.stream}:{metadata.sequence.stream}"
        time = metadata.timestamp
        extensions.update(
            natsstream=metadata.stream,
            natssequence=str(metadata.sequence.stream),
            natsconsumer=metadata.consumer,
            natsdelivered=str(metadata.num_delivered),
        )
    elif msg.reply:
        extensions["natsreply"] = msg.reply
    if headers:
        extensions["natsheaders"] = json.dumps(headers, sort_keys=True, separators=(",", ":"))
    return RawEvent(
        payload=msg.data,
        content_type=_header(headers, "content-type"),
        id=event_id,
        subject=msg.subject,
        time=time,
        action=ACTION,
        extensions=extensions,
        headers=headers,
        binding="nats",
    )


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value or None
    return None
