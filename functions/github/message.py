"""A GitHub webhook delivery -> the raw event it becomes.

GitHub posts each delivery with ``X-GitHub-Event`` (the event name), ``X-GitHub-Delivery``
(a GUID that a redelivery keeps), ``X-GitHub-Hook-ID`` and the payload, as JSON
(``application/json``) or as the ``payload`` field of a form (``application/x-www-form-
urlencoded``, the hook's "form" content type). Either way the event carries the JSON text:

- type ``dev.gateways.github.<event>``, with ``.<action>`` when the payload has an action;
- id the delivery GUID, so a redelivery is recognisably the same event;
- subject the repository's full name (``owner/repo``), else the organization's login;
- extensions ``githubevent``, ``githubdelivery``, ``githubhookid``, ``githubrepo``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from gateways.errors import GatewayError
from gateways.events.model import is_json_type
from gateways.function import Request
from gateways.source import RawEvent

EVENT_HEADER = "x-github-event"
DELIVERY_HEADER = "x-github-delivery"
HOOK_ID_HEADER = "x-github-hook-id"
FORM_TYPE = "application/x-www-form-urlencoded"
_EVENT = re.compile(r"[a-z0-9_]{1,64}")
_ACTION = re.compile(r"[A-Za-z0-9_-]{1,64}")  # anything else stays out of the type
_DELIVERY = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_HOOK_ID = re.compile(r"[0-9]{1,20}")


class DeliveryFormatError(GatewayError):
    """A request that is no GitHub delivery; ``status`` is the 4xx it is answered with."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One delivery, read and checked: its headers and its payload as JSON text and object."""

    event: str
    delivery: str | None
    hook_id: str | None
    payload: bytes  # the JSON text, as GitHub sent it
    document: dict[str, Any]


def read_delivery(request: Request) -> Delivery:
    """The delivery in ``request`` (signature already checked); DeliveryFormatError if none."""
    event = (request.header(EVENT_HEADER) or "").strip()
    if not event:
        raise DeliveryFormatError(400, "X-GitHub-Event header required")
    if not _EVENT.fullmatch(event):
        raise DeliveryFormatError(400, f"X-GitHub-Event: {event[:64]!r} is not an event name")
    delivery = _optional(request, DELIVERY_HEADER, _DELIVERY, "X-GitHub-Delivery")
    hook_id = _optional(request, HOOK_ID_HEADER, _HOOK_ID, "X-GitHub-Hook-ID")
    payload = json_text(request)
    return Delivery(event, delivery, hook_id, payload, parse_object(payload))


def json_text(request: Request) -> bytes:
    """The payload's JSON text: the body itself, or a form's ``payload`` field."""
    content_type = request.header("content-type") or ""
    media = content_type.split(";")[0].strip().lower()
    if media == FORM_TYPE:
        return _form_payload(request.body)
    if is_json_type(content_type):
        return request.body
    shown = repr(content_type[:60]) if content_type else "none"
    raise DeliveryFormatError(
        415, f"content type {shown}: GitHub sends application/json or {FORM_TYPE}"
    )


def parse_object(payload: bytes) -> dict[str, Any]:
    """The payload as a JSON object; DeliveryFormatError (400) when it is not one."""
    try:
        document = json.loads(payload.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise DeliveryFormatError(400, f"payload is not JSON: {_short(exc)}") from None
    if not isinstance(document, dict):
        raise DeliveryFormatError(400, "payload is not a JSON object")
    return document


def to_raw_event(delivery: Delivery) -> RawEvent:
    """The raw event of one accepted delivery."""
    document = delivery.document
    repository = repository_of(document)
    extensions = {"githubevent": delivery.event}
    if delivery.delivery:
        extensions["githubdelivery"] = delivery.delivery
    if delivery.hook_id:
        extensions["githubhookid"] = delivery.hook_id
    if repository:
        extensions["githubrepo"] = repository
    return RawEvent(
        payload=delivery.payload,
        content_type="application/json",
        id=delivery.delivery,
        subject=repository or organization_of(document),
        action=action_of(delivery.event, document),
        extensions=extensions,
    )


def action_of(event: str, document: dict[str, Any]) -> str:
    """``<event>``, or ``<event>.<action>`` when the payload has a plain action name."""
    action = document.get("action")
    if isinstance(action, str) and _ACTION.fullmatch(action):
        return f"{event}.{action}"
    return event


def repository_of(document: dict[str, Any]) -> str | None:
    repository = document.get("repository")
    if isinstance(repository, dict):
        name = repository.get("full_name")
        if isinstance(name, str) and name:
            return name
    return None


def organization_of(document: dict[str, Any]) -> str | None:
    organization = document.get("organization")
    if isinstance(organization, dict):
        login = organization.get("login")
        if isinstance(login, str) and login:
            return login
    return None


def _optional(request: Request, header: str, pattern: re.Pattern[str], name: str) -> str | None:
    value = (request.header(header) or "").strip()
    if not value:
        return None
    if not pattern.fullmatch(value):
        raise DeliveryFormatError(400, f"{name}: {value[:64]!r} is not valid")
    return value


def _form_payload(body: bytes) -> bytes:
    try:
        fields = parse_qs(
            body.decode("ascii"),
            keep_blank_values=True,
            strict_parsing=True,
            errors="strict",
            max_num_fields=16,
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise DeliveryFormatError(400, f"form body is not URL-encoded: {_short(exc)}") from None
    values = fields.get("payload", [])
    if len(values) != 1:
        raise DeliveryFormatError(400, "form body needs exactly one payload field")
    return values[0].encode("utf-8")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _short(exc: BaseException) -> str:
    return str(exc)[:120] or type(exc).__name__
