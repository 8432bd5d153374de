"""One function hosted on ``settings.host:settings.port`` as a :class:`Service`."""

from __future__ import annotations

import logging

from gateways.function import FunctionApp
from gateways.hosting.server import Listener
from gateways.settings import Settings

log = logging.getLogger(__name__)


class FunctionService:
    def __init__(self, app: FunctionApp, settings: Settings) -> None:
        self.app = app
        self.listener = Listener(app, settings.host, settings.port)

    async def start(self) -> None:
        await self.app.startup()
        await self.listener.start()
        log.info("serving %s on %s", type(self.app).__name__, self.listener.url)

    async def stop(self) -> None:
        await self.listener.stop()
        await self.app.shutdown()
