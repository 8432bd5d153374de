"""A CloudEvents 1.0 event: context attributes plus data bytes."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from gateways.errors import EventFormatError

SPEC_VERSION = "1.0"
REQUIRED = ("specversion", "id", "source", "type")
OPTIONAL = ("datacontenttype", "dataschema", "subject", "time")
_ATTRIBUTE_NAME = re.compile(r"^[a-z0-9]{1,20}$")
# RFC 9110 media type: type "/" subtype, then parameters; printable ASCII only (it travels as
# the HTTP Content-Type header, which cannot be percent-encoded as ce- headers are).
_MEDIA_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"  # noqa: S105 (a regex, not a secret)
_MEDIA_TYPE = re.compile(rf"{_MEDIA_TOKEN}/{_MEDIA_TOKEN}(?:[ \t]*;[\x20-\x7e\t]*)?")
_JSON_TYPE = re.compile(
    r"^application/(?:[\w.+-]+\+)?json(?:\s*;.*)?$|^text/json(?:\s*;.*)?$", re.I
)


def is_json_type(content_type: str | None) -> bool:
    """True for ``application/json``, ``*/*+json`` and ``text/json`` (parameters allowed)."""
    return content_type is not None and bool(_JSON_TYPE.match(content_type.strip()))


def valid_media_type(value: str) -> bool:
    return len(value) <= 1024 and _MEDIA_TYPE.fullmatch(value) is not None


def valid_extension_name(name: str) -> bool:
    return bool(_ATTRIBUTE_NAME.match(name)) and name not in REQUIRED + OPTIONAL + ("data",)


@dataclass(slots=True)
class CloudEvent:
    """Attributes keyed by name (values str, int or bool), and data as raw bytes (or None)."""

    attributes: dict[str, Any]
    data: bytes | None = None
    _json_cache: Any = field(default=None, repr=False, compare=False)

    @property
    def id(self) -> str:
        return str(self.attributes["id"])

    @property
    def type(self) -> str:
        return str(self.attributes["type"])

    @property
    def source(self) -> str:
        return str(self.attributes["source"])

    @property
    def content_type(self) -> str | None:
        value = self.attributes.get("datacontenttype")
        return None if value is None else str(value)

    @property
    def extensions(self) -> dict[str, Any]:
        core = REQUIRED + OPTIONAL
        return {k: v for k, v in self.attributes.items() if k not in core}

    def json(self) -> Any:
        """The data parsed as JSON (raises ValueError when it is not JSON)."""
        if self._json_cache is None and self.data is not None:
            self._json_cache = json.loads(self.data)
        return self._json_cache

    def validate(self) -> CloudEvent:
        """Raise EventFormatError listing every attribute problem at once; return self."""
        problems = [f"{name}: is required" for name in REQUIRED if not self.attributes.get(name)]
        version = self.attributes.get("specversion")
        if version is not None and str(version) != SPEC_VERSION:
            problems.append(f"specversion: {version!r} is not supported (only {SPEC_VERSION})")
        for name, value in self.attributes.items():
            if not _ATTRIBUTE_NAME.match(name):
                problems.append(f"{name}: attribute names are 1-20 characters of a-z and 0-9")
            elif not isinstance(value, str | int | bool):
                problems.append(f"{name}: value must be a string, integer or boolean")
            elif name == "datacontenttype" and not valid_media_type(str(value)):
                problems.append(f"{name}: {str(value)[:60]!r} is not a media type")
        if problems:
            raise EventFormatError("invalid CloudEvent: " + "; ".join(problems))
        return self
