"""The deployed webhook function: every HTTP-family source of the registry (webhook, GitHub,
GitLab, Slack, SNS, StorageGRID) on the function's one port."""

from __future__ import annotations

from gateways.function import Request, Response
from gateways.hooks.router import Router
from gateways.hooks.servers import SERVERS, HookServers
from gateways.kinds import SourceContext, kinds
from gateways.runtime import GatewayRuntime
from gateways.settings import Settings


def served_here(kind: str) -> bool:
    return kind in kinds() and kinds()[kind].served_by == "webhook"


class WebhookFunction:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self.router = Router()
        context = SourceContext(self.settings)
        context.resources[SERVERS] = HookServers(shared=self.router)
        self.runtime = GatewayRuntime(self.settings, accept=served_here, context=context)

    async def startup(self) -> None:
        await self.runtime.start()

    async def shutdown(self) -> None:
        await self.runtime.stop()

    def body_limit(self, method: str, path: str) -> int:
        return self.router.body_limit(method, path)

    async def handle(self, request: Request) -> Response:
        return await self.router.handle(request)
