"""The deployed webhook function: every webhook endpoint of the registry on the function's port."""

from __future__ import annotations

from functions.webhook.router import Router
from functions.webhook.source import SERVERS, WebhookServers
from gateways.function import Request, Response
from gateways.kinds import SourceContext
from gateways.runtime import GatewayRuntime
from gateways.settings import Settings


class WebhookFunction:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self.router = Router()
        context = SourceContext(self.settings)
        context.resources[SERVERS] = WebhookServers(shared=self.router)
        self.runtime = GatewayRuntime(
            self.settings, accept=lambda kind: kind == "webhook", context=context
        )

    async def startup(self) -> None:
        await self.runtime.start()

    async def shutdown(self) -> None:
        await self.runtime.stop()

    def body_limit(self, method: str, path: str) -> int:
        return self.router.body_limit(method, path)

    async def handle(self, request: Request) -> Response:
        return await self.router.handle(request)
