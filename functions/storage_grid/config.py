"""StorageGRID source config, seed-era shape: ``hook``, ``events``, ``filter{prefix, suffix}``.

Event names are taken with or without the ``s3:`` prefix (the seed era wrote
``ObjectCreated:Put``, as StorageGRID's records carry them; S3 configurations write
``s3:ObjectCreated:Put``); a trailing ``*`` matches every name below it. No ``events`` means
every event.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateways.config.fields import Fields
from gateways.hooks.endpoint import HookEndpoint

# CamelCase words separated by ":", optionally ending in ":*": ObjectCreated:Put,
# s3:ObjectRemoved:*, ObjectRestore:Post, s3:ObjectCreated:CompleteMultipartUpload.
_EVENT_NAME = re.compile(r"(s3:)?[A-Z][A-Za-z]*(:[A-Z][A-Za-z]*)*(:\*)?")


@dataclass(frozen=True, slots=True)
class StorageGridConfig:
    hook: HookEndpoint
    events: tuple[str, ...] = ()  # without "s3:"; empty: every event
    prefix: str = ""
    suffix: str = ""

    @classmethod
    def parse(cls, fields: Fields) -> StorageGridConfig:
        hook = HookEndpoint.parse_hook(fields)
        events = _events(fields)
        prefix, suffix = _filter(fields)
        return cls(hook, events, prefix, suffix)


def event_name(name: str) -> str:
    """An event name as StorageGRID's records carry it: without the ``s3:`` prefix."""
    return name.removeprefix("s3:")


def _events(fields: Fields) -> tuple[str, ...]:
    events: list[str] = []
    for index, name in enumerate(fields.str_list("events")):
        text = name.strip()
        if not _EVENT_NAME.fullmatch(text):
            fields.problem(
                f"events[{index}]",
                f"{name!r} is not an S3 event name such as 'ObjectCreated:Put' "
                "or 's3:ObjectRemoved:*'",
            )
        elif event_name(text) not in events:
            events.append(event_name(text))
    return tuple(events)


def _filter(fields: Fields) -> tuple[str, str]:
    sub = fields.sub("filter")
    if sub is None:
        return "", ""
    prefix = sub.str("prefix", "") or ""
    suffix = sub.str("suffix", "") or ""
    sub.finish()
    return prefix, suffix
