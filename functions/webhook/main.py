"""functions-framework entry point of the webhook function (`--target webhook`)."""

from __future__ import annotations

from typing import Any

import functions_framework

from functions.webhook.app import WebhookFunction
from gateways.hosting.bridge import SyncBridge, flask_handle

_bridge = SyncBridge(WebhookFunction)


@functions_framework.http
def webhook(request: Any) -> tuple[bytes, int, dict[str, str]]:
    return flask_handle(_bridge, request)
