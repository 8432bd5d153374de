"""StorageGRID sources: one endpoint each, on the port its ``hook`` names (or the function's).

A notification is read whole before anything is delivered (a malformed one is a 4xx and none
of its records leaves), its records are filtered, each one left is delivered, and only then is
it answered 200: for the form-encoded SNS ``Publish`` StorageGRID sends, with the
``PublishResponse`` an SNS client expects; for a JSON body, with JSON. Delivery that fails is a
503 (StorageGRID retries); a notification none of whose records pass the filters is answered
200 ``ignored``. Nothing is registered upstream. The kind's one declaration, ``KIND``, ends
this module.
"""

from __future__ import annotations

import json
import uuid
from xml.sax.saxutils import escape

from functions.storage_grid.config import StorageGridConfig
from functions.storage_grid.message import (
    NotificationError,
    is_form,
    raw_events,
    read_notification,
)
from gateways.function import Request, Response
from gateways.hooks.source import HookSource
from gateways.kinds import SourceKind

SNS_XMLNS = "http://sns.amazonaws.com/doc/2010-03-31/"
XML = {"content-type": "text/xml"}


class StorageGridSource(HookSource[StorageGridConfig]):
    kind = "storage-grid"

    async def handle(self, request: Request) -> Response:
        try:
            notification = read_notification(request)
        except NotificationError as exc:
            if is_form(request):
                return _error(exc.status, exc.code, exc.message)
            return Response.error(exc.status, exc.message)
        raws = raw_events(notification, self.config)
        if not raws:
            if notification.publish:
                return publish_response()
            return Response.json(200, {"status": "ignored"})
        answer = await self.deliver(raws)
        if not notification.publish:
            return answer
        if answer.status == 200:
            return publish_response()
        reason = json.loads(answer.body).get("error", "not delivered")
        code = "ServiceUnavailable" if answer.status >= 500 else "InvalidParameter"
        return _error(answer.status, code, reason)


def publish_response() -> Response:
    """SNS's answer to a successful ``Publish`` (what an SNS client such as StorageGRID reads)."""
    body = (
        f'<PublishResponse xmlns="{SNS_XMLNS}">'
        f"<PublishResult><MessageId>{uuid.uuid4()}</MessageId></PublishResult>"
        f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
        "</PublishResponse>\n"
    )
    return Response(200, body.encode(), XML)


def _error(status: int, code: str, message: str) -> Response:
    """SNS's error document: the sender's fault for a 4xx, ours (``Receiver``) for a 5xx."""
    side = "Receiver" if status >= 500 else "Sender"
    body = (
        f'<ErrorResponse xmlns="{SNS_XMLNS}">'
        f"<Error><Type>{side}</Type><Code>{escape(code)}</Code>"
        f"<Message>{escape(message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>\n"
    )
    return Response(status, body.encode(), XML)


KIND = SourceKind(
    name="storage-grid", config=StorageGridConfig, create=StorageGridSource, served_by="webhook"
)
