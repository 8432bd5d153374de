"""A GitLab webhook delivery -> the raw event it becomes.

GitLab posts one JSON object per delivery (webhook_events.md). It travels as it came, as JSON;
the CloudEvent's type is the payload's ``object_kind`` with ``object_attributes.action`` where
there is one (``push``, ``merge_request.open``), its subject the project's path, and its id
the delivery's own identity, so a retried delivery keeps its id and watchers can drop it:
``Idempotency-Key`` (the same on GitLab's retries and resends), else ``webhook-id``, else
``X-Gitlab-Event-UUID``, else one made from the payload.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from gateways.errors import GatewayError
from gateways.source import RawEvent

# Request headers, lower-case as gateways.function.Request holds them.
EVENT_HEADER = "x-gitlab-event"
TOKEN_HEADER = "x-gitlab-token"  # noqa: S105 - a header name, not a secret
INSTANCE_HEADER = "x-gitlab-instance"
EVENT_UUID_HEADER = "x-gitlab-event-uuid"
WEBHOOK_UUID_HEADER = "x-gitlab-webhook-uuid"
ID_HEADERS = ("idempotency-key", "webhook-id", EVENT_UUID_HEADER)
_ACTION_WORD = re.compile(r"[^a-z0-9_]+")
_MAX_ID = 200


class PayloadError(GatewayError):
    """The body is not the JSON object GitLab sends."""


def parse_payload(body: bytes) -> dict[str, Any]:
    """The delivery's JSON object; PayloadError (a 400) when it is not one."""
    try:
        text = body.decode("utf-8")  # JSON on the wire is UTF-8 (RFC 8259); no guessing
    except UnicodeDecodeError:
        raise PayloadError("body is not UTF-8 text") from None
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise PayloadError(f"body is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise PayloadError(f"body is JSON but not an object ({type(document).__name__})")
    return document


def action(payload: Mapping[str, Any], header: str) -> str:
    """``object_kind`` (else the header, ``Push Hook`` -> ``push``), with ``.<action>`` when
    ``object_attributes.action`` (or, for releases, ``action``) is present:
    ``merge_request.open``, ``note.create``, ``release.create``."""
    kind = _word(payload.get("object_kind")) or _word(header.removesuffix(" Hook")) or "event"
    attributes = payload.get("object_attributes")
    verb = _word(attributes.get("action")) if isinstance(attributes, Mapping) else ""
    # A release event carries its action at the top level (webhook_events.md's example).
    verb = verb or _word(payload.get("action"))
    return f"{kind}.{verb}" if verb else kind


def project_path(payload: Mapping[str, Any]) -> str | None:
    project = payload.get("project")
    if isinstance(project, Mapping):
        path = project.get("path_with_namespace")
        if isinstance(path, str) and path and _encodable(path):
            return path[:_MAX_ID]
    return None


def project_id(payload: Mapping[str, Any]) -> str | None:
    project = payload.get("project")
    found = project.get("id") if isinstance(project, Mapping) else None
    if found is None:
        found = payload.get("project_id")
    if isinstance(found, bool) or not isinstance(found, int | str):
        return None
    text = str(found)[:_MAX_ID]
    return text if _encodable(text) else None


def event_id(headers: Mapping[str, str], payload: Mapping[str, Any], body: bytes) -> str:
    """The delivery's identity (see the module docstring); deterministic in every case."""
    for name in ID_HEADERS:
        value = (headers.get(name) or "").strip()
        if value:
            return value[:_MAX_ID]
    kind = payload.get("object_kind")
    after = payload.get("after")
    ref = payload.get("ref")
    if kind in ("push", "tag_push") and _encodable(ref) and _encodable(after):
        # One push of one ref to one commit: GitLab's own identity for it.
        return f"{kind}:{project_id(payload) or ''}:{ref}:{after}"[:_MAX_ID]
    # Anything else: the same delivery body is the same event.
    return f"{_word(kind) or 'gitlab'}:sha256:{hashlib.sha256(body).hexdigest()}"


def to_raw_event(headers: Mapping[str, str], body: bytes, payload: Mapping[str, Any]) -> RawEvent:
    """The raw event of one accepted delivery (``headers`` with lower-case names)."""
    header = headers.get(EVENT_HEADER, "")
    extensions = {"gitlabevent": header}
    project = project_id(payload)
    if project is not None:
        extensions["gitlabproject"] = project
    for name, header_name in (
        ("gitlabinstance", INSTANCE_HEADER),
        ("gitlabeventuuid", EVENT_UUID_HEADER),
        ("gitlabwebhookuuid", WEBHOOK_UUID_HEADER),
    ):
        value = (headers.get(header_name) or "").strip()
        if value:
            extensions[name] = value
    return RawEvent(
        payload=body,
        content_type="application/json",
        id=event_id(headers, payload, body),
        subject=project_path(payload),
        action=action(payload, header),
        extensions=extensions,
    )


def _encodable(value: Any) -> bool:
    """A non-empty string that can travel as a header: no lone surrogates from JSON escapes."""
    if not isinstance(value, str) or not value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _word(value: Any) -> str:
    """A type segment: lower case, ``[a-z0-9_]`` only (``Merge Request`` -> ``merge_request``)."""
    if not isinstance(value, str):
        return ""
    return _ACTION_WORD.sub("_", value.strip().lower()).strip("_")[:40]
