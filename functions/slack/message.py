"""A request from Slack, once verified -> what it is, and the raw event it becomes.

Slack posts three shapes to an app's Request URLs:

- the Events API: JSON. ``url_verification`` is a handshake (answered, nothing delivered);
  ``event_callback`` wraps one event (id ``event_id``, action the event's ``type``); any other
  outer type (``app_rate_limited``) is delivered under its own type.
- interactivity: a form whose one field ``payload`` holds JSON (``block_actions``,
  ``shortcut``, ``view_submission``, ...): action ``interaction.<payload type>``.
- slash commands: a form with ``command``: action ``command``, subject the command. A form
  with ``ssl_check`` is Slack checking the certificate (answered, nothing delivered).

The data is JSON (a form becomes an object of its fields) without the verification
``token``: a credential never leaves the gateway. Ids are Slack's own (``event_id``,
``trigger_id``, an action's ``action_ts``), else a digest of the data, so a retried request
(``X-Slack-Retry-Num``) keeps its id.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import parse_qsl

from gateways.errors import GatewayError
from gateways.source import RawEvent

JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"
_TYPE_NAME = re.compile(r"[A-Za-z0-9_]{1,64}")  # Slack's type names: app_mention, block_actions
Kind = Literal["url_verification", "ssl_check", "event", "interaction", "command"]


class SlackRequestError(GatewayError):
    """A body that is not one of Slack's request shapes: answered with ``status``."""

    def __init__(self, message: str, status: int = 400) -> None:
        self.status = status
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class SlackRequest:
    """One parsed request: its shape, its JSON object (or form fields) and the token in it."""

    kind: Kind
    document: Mapping[str, Any] = field(default_factory=dict)
    token: str | None = None

    @property
    def challenge(self) -> str:
        return str(self.document.get("challenge", ""))


def parse(body: bytes, content_type: str | None) -> SlackRequest:
    """The request ``body`` is; raises SlackRequestError (400, or 415) naming what is wrong."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media not in ("", JSON_TYPE, FORM_TYPE):
        raise SlackRequestError(f"content type {media!r} is neither JSON nor a form", 415)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise SlackRequestError("the body is not UTF-8 text") from None
    if media == JSON_TYPE or (not media and text.lstrip().startswith("{")):
        return _events_api(_json_object(text, "the body"))
    return _form(text)


def to_raw_event(
    request: SlackRequest, retry: str | None = None, retry_reason: str | None = None
) -> RawEvent:
    """The raw event of an ``event``, ``interaction`` or ``command`` request."""
    document = {k: v for k, v in request.document.items() if k != "token"}
    data = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    if request.kind == "event":
        mapped = _event(document)
    elif request.kind == "interaction":
        mapped = _interaction(document)
    elif request.kind == "command":
        mapped = _command(document)
    else:
        raise ValueError(f"a {request.kind} request is answered, not delivered")
    extensions = mapped.extensions | {"slackretry": retry, "slackretryreason": retry_reason}
    return RawEvent(
        payload=data,
        content_type=JSON_TYPE,
        id=mapped.id or hashlib.sha256(data).hexdigest()[:32],
        subject=mapped.subject,
        time=mapped.time,
        action=mapped.action,
        extensions={name: value for name, value in extensions.items() if value},
    )


# ---------------------------------------------------------------------------------- parsing


def _events_api(document: dict[str, Any]) -> SlackRequest:
    kind = _type_name(document.get("type"), "type")
    token = _optional_text(document, "token")
    if kind == "url_verification":
        if not isinstance(document.get("challenge"), str):
            raise SlackRequestError("url_verification without a challenge")
        return SlackRequest("url_verification", document, token)
    if kind == "event_callback":
        event = document.get("event")
        if not isinstance(event, Mapping):
            raise SlackRequestError("event_callback without an event object")
        _type_name(event.get("type"), "event.type")
    return SlackRequest("event", document, token)


def _form(text: str) -> SlackRequest:
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
    except ValueError:
        raise SlackRequestError("the body is not a form (name=value&...)") from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name in fields:
            raise SlackRequestError(f"form field {name!r} given twice")
        fields[name] = value
    if "payload" in fields:
        payload = _json_object(fields["payload"], "payload")
        _type_name(payload.get("type"), "payload.type")
        return SlackRequest("interaction", payload, _optional_text(payload, "token"))
    if "command" in fields:
        if not fields["command"]:
            raise SlackRequestError("command is empty")
        return SlackRequest("command", fields, fields.get("token"))
    if "ssl_check" in fields:
        return SlackRequest("ssl_check", fields, fields.get("token"))
    raise SlackRequestError("a form without payload (interactivity) or command (slash command)")


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        raise SlackRequestError(f"{what} is not valid JSON") from None
    if not isinstance(document, dict):
        raise SlackRequestError(f"{what} is not a JSON object")
    return document


def _type_name(value: Any, name: str) -> str:
    if not isinstance(value, str) or not _TYPE_NAME.fullmatch(value):
        raise SlackRequestError(f"{name}: {str(value)[:40]!r} is not a Slack type name")
    return value


def _optional_text(document: Mapping[str, Any], name: str) -> str | None:
    value = document.get(name)
    return value if isinstance(value, str) else None


# ---------------------------------------------------------------------------------- mapping


@dataclass(slots=True)
class _Mapped:
    """What a request says about itself, before it becomes a raw event."""

    action: str
    id: str | None
    subject: str | None
    time: datetime | None
    extensions: dict[str, str | None]


def _event(document: Mapping[str, Any]) -> _Mapped:
    team = _text(document.get("team_id"))
    extensions: dict[str, str | None] = {
        "slackteam": team,
        "slackapp": _text(document.get("api_app_id")),
    }
    event = document.get("event")
    if document.get("type") != "event_callback" or not isinstance(event, Mapping):
        kind = str(document.get("type"))  # app_rate_limited: no inner event
        return _Mapped(kind, None, team, None, extensions)
    channel = _id_of(event.get("channel")) or _id_of(_get(event, "item", "channel"))
    extensions |= {
        "slackevent": str(event["type"]),
        "slacksubtype": _text(event.get("subtype")),
        "slackchannel": channel,
        "slackuser": _id_of(event.get("user")),
        "slackteam": team or _text(event.get("team")),
    }
    time = _epoch(document.get("event_time"))
    event_id = _text(document.get("event_id"))
    return _Mapped(str(event["type"]), event_id, channel or team, time, extensions)


def _interaction(payload: Mapping[str, Any]) -> _Mapped:
    actions = payload.get("actions")
    first = actions[0] if isinstance(actions, list) and actions else {}
    first = first if isinstance(first, Mapping) else {}
    action_ts = _text(payload.get("action_ts")) or _text(first.get("action_ts"))
    team = _id_of(payload.get("team")) or _text(_get(payload, "user", "team_id"))
    channel = _id_of(payload.get("channel")) or _text(_get(payload, "container", "channel_id"))
    extensions: dict[str, str | None] = {
        "slackteam": team,
        "slackchannel": channel,
        "slackuser": _id_of(payload.get("user")),
        "slackapp": _text(payload.get("api_app_id")),
        "slackcallbackid": _text(payload.get("callback_id"))
        or _text(_get(payload, "view", "callback_id")),
        "slackactionid": _text(first.get("action_id")),
    }
    event_id = _text(payload.get("trigger_id")) or action_ts
    action = f"interaction.{payload['type']}"
    return _Mapped(action, event_id, channel or team, _epoch(action_ts), extensions)


def _command(fields: Mapping[str, Any]) -> _Mapped:
    extensions: dict[str, str | None] = {
        "slackteam": _text(fields.get("team_id")),
        "slackchannel": _text(fields.get("channel_id")),
        "slackuser": _text(fields.get("user_id")),
        "slackapp": _text(fields.get("api_app_id")),
    }
    trigger = _text(fields.get("trigger_id"))
    return _Mapped("command", trigger, str(fields["command"]), None, extensions)


def _get(document: Mapping[str, Any], *path: str) -> Any:
    value: Any = document
    for name in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(name)
    return value


def _id_of(value: Any) -> str | None:
    """A Slack object's id: the value itself (``"C123"``) or its ``id`` (``{"id": "C123"}``)."""
    return _text(value.get("id")) if isinstance(value, Mapping) else _text(value)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _epoch(value: Any) -> datetime | None:
    """Epoch seconds (``1515449522`` or ``"1548426417.840180"``) as a time, else None."""
    try:
        seconds = float(value)
        return datetime.fromtimestamp(seconds, UTC) if seconds > 0 else None
    except (TypeError, ValueError, OverflowError, OSError):
        return None
