"""OpenFaaS `python3-http` entry point of the dispatcher function: `handle(event, context)`."""

from __future__ import annotations

from typing import Any

from functions.dispatcher.app import DispatcherFunction
from gateways.hosting.bridge import SyncBridge, openfaas_handle

_bridge = SyncBridge(DispatcherFunction)


def handle(event: Any, context: Any) -> dict[str, Any]:
    return openfaas_handle(_bridge, event, context)
