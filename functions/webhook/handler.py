"""OpenFaaS `python3-http` entry point of the webhook function: `handle(event, context)`."""

from __future__ import annotations

from typing import Any

from functions.webhook.app import WebhookFunction
from gateways.hosting.bridge import SyncBridge, openfaas_handle

_bridge = SyncBridge(WebhookFunction)


def handle(event: Any, context: Any) -> dict[str, Any]:
    return openfaas_handle(_bridge, event, context)
