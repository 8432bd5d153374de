"""The CloudEvents HTTP protocol binding (1.0): binary and structured content modes."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, unquote

from gateways.errors import EventFormatError
from gateways.events.model import SPEC_VERSION, CloudEvent, is_json_type

STRUCTURED_TYPE = "application/cloudevents+json"
BATCH_TYPE = "application/cloudevents-batch+json"
# The binding asks senders to percent-encode space, '"', '%' and anything outside printable ASCII.
_SAFE_HEADER_CHARS = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"%')
_NEEDS_NO_ENCODING = re.compile(r"[\x21\x23-\x24\x26-\x7e]*")


def header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if _NEEDS_NO_ENCODING.fullmatch(text):  # the usual case, and far cheaper than quote()
        return text
    return quote(text, safe=_SAFE_HEADER_CHARS)


def to_binary(event: CloudEvent) -> tuple[dict[str, str], bytes]:
    """Headers and body for binary mode: attributes as ``ce-`` headers, data as the body."""
    headers: dict[str, str] = {}
    for name, value in event.attributes.items():
        if name == "datacontenttype":
            headers["content-type"] = str(value)
        else:
            headers["ce-" + name] = header_value(value)
    return headers, event.data or b""


def to_structured(event: CloudEvent) -> tuple[dict[str, str], bytes]:
    """Headers and body for structured mode: one JSON object holding attributes and data."""
    return {"content-type": STRUCTURED_TYPE}, json.dumps(to_json(event)).encode()


def to_json(event: CloudEvent) -> dict[str, Any]:
    """The JSON event format; JSON data is embedded as JSON, text as a string, else base64."""
    document: dict[str, Any] = dict(event.attributes)
    if event.data is None:
        return document
    content_type = event.content_type
    if content_type is None or is_json_type(content_type):
        try:
            document["data"] = event.json()
            return document
        except ValueError:
            pass
    if content_type is not None and content_type.startswith("text/"):
        try:
            document["data"] = event.data.decode("utf-8")
            return document
        except UnicodeDecodeError:
            pass
    document["data_base64"] = base64.b64encode(event.data).decode("ascii")
    return document


def from_json(document: Any) -> CloudEvent:
    """Parse the JSON event format (one decoded JSON object)."""
    if not isinstance(document, Mapping):
        raise EventFormatError("structured CloudEvent must be a JSON object")
    attributes = {k: v for k, v in document.items() if k not in ("data", "data_base64")}
    data: bytes | None = None
    if "data_base64" in document:
        try:
            data = base64.b64decode(document["data_base64"], validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise EventFormatError("data_base64: not valid base64") from None
    elif "data" in document:
        value = document["data"]
        content_type = attributes.get("datacontenttype")
        if isinstance(value, str) and not is_json_type(content_type) and content_type is not None:
            data = value.encode("utf-8")
        else:
            # Absent datacontenttype means JSON here; it stays absent so attributes pass unchanged.
            data = json.dumps(value).encode()
    return CloudEvent(attributes, data).validate()


def from_http(headers: Mapping[str, str], body: bytes) -> CloudEvent | None:
    """The CloudEvent an HTTP request carries, or None when it carries none.

    ``headers`` must be looked up case-insensitively (lower-case keys, or a CIMultiDict).
    Raises EventFormatError when the request claims to be a CloudEvent but is not a valid one.
    """
    content_type = _get(headers, "content-type")
    if content_type and content_type.split(";")[0].strip().lower() == STRUCTURED_TYPE:
        try:
            return from_json(json.loads(body))
        except ValueError as exc:
            raise EventFormatError(f"structured CloudEvent is not valid JSON: {exc}") from None
    if _get(headers, "ce-specversion") is None:
        return None
    return from_prefixed(headers, "ce-", content_type, body, percent_encoded=True)


def from_prefixed(
    headers: Mapping[str, str],
    prefix: str,
    content_type: str | None,
    body: bytes,
    *,
    percent_encoded: bool = False,
) -> CloudEvent:
    """A binary-mode CloudEvent whose attributes are headers named ``prefix + attribute``.

    Shared by every binding that carries attributes as prefixed headers or properties
    (HTTP ``ce-``, Kafka ``ce_``, AMQP ``cloudEvents:``, MQTT 5 user properties with ``""``).
    """
    attributes: dict[str, Any] = {}
    width = len(prefix)
    for name, value in headers.items():
        lowered = name.lower()
        if lowered.startswith(prefix.lower()) and len(lowered) > width:
            attributes[lowered[width:]] = unquote(value) if percent_encoded else value
    if content_type:
        attributes["datacontenttype"] = content_type
    if str(attributes.get("specversion", "")) != SPEC_VERSION:
        raise EventFormatError(f"specversion: {attributes.get('specversion')!r} is not supported")
    return CloudEvent(attributes, body).validate()


def from_batch(body: bytes) -> list[CloudEvent]:
    try:
        documents = json.loads(body)
    except ValueError as exc:
        raise EventFormatError(f"CloudEvents batch is not valid JSON: {exc}") from None
    if not isinstance(documents, list):
        raise EventFormatError("CloudEvents batch must be a JSON array")
    return [from_json(document) for document in documents]


def _get(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None and not hasattr(headers, "getall"):
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return value
