"""functions-framework entry point of the dispatcher function (`--target dispatcher`)."""

from __future__ import annotations

from typing import Any

import functions_framework

from functions.dispatcher.app import DispatcherFunction
from gateways.hosting.bridge import SyncBridge, flask_handle

_bridge = SyncBridge(DispatcherFunction)


@functions_framework.http
def dispatcher(request: Any) -> tuple[bytes, int, dict[str, str]]:
    return flask_handle(_bridge, request)
