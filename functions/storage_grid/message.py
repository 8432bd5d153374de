"""A StorageGRID notification request -> the raw events of its S3 records.

StorageGRID posts a bucket notification in one of these shapes, all read here:

- the SNS ``Publish`` action, form-encoded as an SNS client sends it (``Action=Publish&
  Message=<the S3 event as URL-encoded JSON>&TopicArn=...&Version=2010-03-31``), which the
  seed-era gateway parsed and answered with a ``PublishResponse``;
- an SNS-style JSON envelope whose ``Message`` is the S3 event (a JSON string or an object);
- the S3 event JSON itself, ``{"Records": [...]}``.

Every record becomes its own raw event, named exactly as the artifact kind names MinIO's
records (:func:`gateways.events.s3.raw_event`: ``s3bucket``, ``s3key``, ``s3eventname``,
... extensions, id ``<sequencer>/<key>``, subject the key, time the record's ``eventTime``,
action ``objectcreated.put``), plus ``snstopicarn`` when the notification names its topic.
A record without an event name, a valid event time, a bucket name or an object key refuses
the whole notification (:class:`NotificationError`, a 4xx), so nothing of it is delivered.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeGuard
from urllib.parse import parse_qsl

from functions.storage_grid.config import StorageGridConfig, event_name
from gateways.errors import GatewayError
from gateways.events.s3 import event_matches, object_key, raw_event
from gateways.function import Request
from gateways.source import RawEvent

FORM = "application/x-www-form-urlencoded"
MAX_FORM_FIELDS = 100  # an SNS Publish has a handful; message attributes add a few each
MAX_PROBLEMS = 10  # listed in a refusal; the rest are counted
TEST_EVENT = "s3:TestEvent"  # S3's check that a destination works: it has no records
# What a record's eventName looks like (it becomes the CloudEvent type): ObjectCreated:Put.
_EVENT_NAME = re.compile(r"(s3:)?[A-Za-z][A-Za-z0-9]{0,63}(:[A-Za-z][A-Za-z0-9]{0,63}){0,3}")


class NotificationError(GatewayError):
    """A request that is no StorageGRID notification: answered ``status`` and nothing delivered.

    ``code`` is the SNS error code a form-encoded ``Publish`` is answered with.
    """

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status = status
        self.code = code
        self.message = message
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Notification:
    records: tuple[Mapping[str, Any], ...]
    publish: bool = False  # the form-encoded SNS Publish action (answered in SNS's XML)
    topic_arn: str | None = None


def read_notification(request: Request) -> Notification:
    """The notification a request carries; NotificationError when it carries none."""
    media = _media(request)
    if is_form(request):
        return _from_form(request.body)
    if media in ("", "text/plain", "application/json") or media.endswith("+json"):
        return _from_json(request.body)
    raise NotificationError(415, "InvalidParameter", f"unsupported content type {media!r}")


def is_form(request: Request) -> bool:
    """Form-encoded, so an SNS Publish (answered in SNS's XML): said so, or sniffed from a
    body that is no JSON object when the type is missing or ``text/plain`` (SNS-style)."""
    media = _media(request)
    if media == FORM:
        return True
    return media in ("", "text/plain") and request.body.lstrip()[:1] != b"{"


def _media(request: Request) -> str:
    return (request.header("content-type") or "").split(";", 1)[0].strip().lower()


def raw_events(notification: Notification, config: StorageGridConfig) -> list[RawEvent]:
    """One raw event per record that passes the config's event and key filters."""
    raws = []
    for record in notification.records:
        key = object_key(record)
        if not (key.startswith(config.prefix) and key.endswith(config.suffix)):
            continue
        name = event_name(str(record["eventName"]))
        if config.events and not event_matches(name, config.events):
            continue
        raw = raw_event(record)
        if notification.topic_arn:
            extensions = {**raw.extensions, "snstopicarn": notification.topic_arn}
            raw = dataclasses.replace(raw, extensions=extensions)
        raws.append(raw)
    return raws


# ---------------------------------------------------------------------------- the shapes


def _from_form(body: bytes) -> Notification:
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=True,
            max_num_fields=MAX_FORM_FIELDS,
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise NotificationError(
            400, "MalformedQueryString", f"malformed form body: {exc}"
        ) from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise NotificationError(400, "MalformedQueryString", f"form field {name!r} repeated")
        form[name] = value
    _check_action(form.get("Action"), required=True)
    if "Message" not in form:
        raise NotificationError(400, "MissingParameter", "the Publish action needs a Message")
    message = _json(form["Message"].encode(), "Message")
    return Notification(_records(message), publish=True, topic_arn=form.get("TopicArn") or None)


def _from_json(body: bytes) -> Notification:
    document = _json(body, "the body")
    if "Records" in document:
        return Notification(_records(document))
    if "Message" not in document:
        raise NotificationError(
            400, "InvalidParameter", "neither an S3 event (Records) nor an SNS envelope (Message)"
        )
    _check_action(document.get("Action"), required=False)
    kind = document.get("Type")
    if kind is not None and kind != "Notification":
        raise NotificationError(400, "InvalidParameter", f"SNS message type {kind!r} not taken")
    message = document["Message"]
    if isinstance(message, str):
        message = _json(message.encode(), "Message")
    elif not isinstance(message, Mapping):
        raise NotificationError(400, "InvalidParameter", "Message is not a JSON object")
    topic = document.get("TopicArn")
    return Notification(_records(message), topic_arn=topic if isinstance(topic, str) else None)


def _check_action(action: Any, *, required: bool) -> None:
    if action is None and not required:
        return
    if action != "Publish":
        shown = "missing" if action is None else repr(action)
        raise NotificationError(400, "InvalidAction", f"Action {shown}: only Publish is taken")


def _json(text: bytes, what: str) -> Mapping[str, Any]:
    try:
        document = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise NotificationError(400, "InvalidParameter", f"{what} is not JSON") from None
    if not isinstance(document, Mapping):
        raise NotificationError(400, "InvalidParameter", f"{what} is not a JSON object")
    return document


# ---------------------------------------------------------------------------- the records


def _records(message: Mapping[str, Any]) -> tuple[Mapping[str, Any], ...]:
    if "Records" not in message:
        if message.get("Event") == TEST_EVENT:
            return ()
        raise NotificationError(400, "InvalidParameter", "the S3 event has no Records")
    records = message["Records"]
    if not isinstance(records, list):
        raise NotificationError(400, "InvalidParameter", "Records is not a list")
    problems = [problem for index, r in enumerate(records) for problem in _problems(index, r)]
    if problems:
        more = len(problems) - MAX_PROBLEMS
        shown = problems[:MAX_PROBLEMS] + ([f"{more} more"] if more > 0 else [])
        raise NotificationError(400, "InvalidParameter", "; ".join(shown))
    return tuple(records)


def _problems(index: int, record: Any) -> Sequence[str]:
    at = f"Records[{index}]"
    if not isinstance(record, Mapping):
        return [f"{at}: not an object"]
    found = []
    name = record.get("eventName")
    if not _text(name):
        found.append(f"{at}.eventName: required")
    elif not _EVENT_NAME.fullmatch(name):
        found.append(f"{at}.eventName: {name[:80]!r} is not an S3 event name")
    if not _time(record.get("eventTime")):
        found.append(f"{at}.eventTime: required, an ISO 8601 time")
    s3 = record.get("s3")
    bucket = s3.get("bucket") if isinstance(s3, Mapping) else None
    obj = s3.get("object") if isinstance(s3, Mapping) else None
    if not (isinstance(bucket, Mapping) and _text(bucket.get("name"))):
        found.append(f"{at}.s3.bucket.name: required")
    if not (isinstance(obj, Mapping) and _text(obj.get("key"))):
        found.append(f"{at}.s3.object.key: required")
    return found


def _text(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and bool(value)


def _time(value: Any) -> bool:
    if not _text(value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True
