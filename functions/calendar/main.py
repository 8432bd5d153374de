"""functions-framework entry point of the calendar function (`--target calendar`)."""

from __future__ import annotations

from typing import Any

import functions_framework

from functions.calendar.app import CalendarFunctionApp
from gateways.hosting.bridge import SyncBridge, flask_handle

_bridge = SyncBridge(CalendarFunctionApp)


@functions_framework.http
def calendar(request: Any) -> tuple[bytes, int, dict[str, str]]:
    return flask_handle(_bridge, request)
