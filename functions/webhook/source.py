"""Webhook sources: each adds its endpoint to the router of the port it is served on.

The kind's one declaration, ``KIND``, ends this module.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path

from functions.webhook.config import WebhookConfig
from functions.webhook.router import Route, Router
from gateways.errors import GatewayError
from gateways.hosting.server import Listener, server_ssl_context
from gateways.kinds import SourceContext, SourceKind
from gateways.secrets import resolve
from gateways.source import Emit, Origin

SERVERS = "webhook-servers"  # the SourceContext resource every webhook source shares


class PortConflictError(GatewayError):
    pass


@dataclass
class _Port:
    router: Router
    listener: Listener | None
    tls: tuple[str, str] | None


@dataclass
class WebhookServers:
    """The routers of one process, one per port, and the listeners that serve them.

    In a deployed function every source shares ``shared`` (served by the function's own host);
    in the embedded default each distinct source ``port`` gets a listener of its own.
    """

    host: str = "127.0.0.1"
    default_port: int = 12000
    shared: Router | None = None
    ports: dict[int, _Port] = field(default_factory=dict)

    async def attach(self, route: Route) -> str:
        """Serve ``route``; returns where (for logs and the status page)."""
        if self.shared is not None:
            self.shared.add(route)
            return route.config.endpoint
        config = route.config
        port_number = config.port or self.default_port
        tls = None
        if config.server_cert_path and config.server_key_path:
            tls = (config.server_cert_path, config.server_key_path)
        port = self.ports.get(port_number)
        if port is None:
            context = _tls_context(tls)
            router = Router()
            router.add(route)
            listener = Listener(router, self.host, port_number, context)
            await listener.start()
            self.ports[port_number] = _Port(router, listener, tls)
        else:
            if port.tls != tls:
                raise PortConflictError(
                    f"port: {port_number} is already served {'with' if port.tls else 'without'}"
                    " TLS by another source; sources on one port must agree on"
                    " serverCertPath/serverKeyPath"
                )
            port.router.add(route)
        scheme = "https" if tls else "http"
        return f"{scheme}://{self.host}:{port_number}{config.endpoint}"

    async def detach(self, route: Route) -> None:
        if self.shared is not None:
            self.shared.remove(route)
            return
        port_number = route.config.port or self.default_port
        port = self.ports.get(port_number)
        if port is None:
            return
        port.router.remove(route)
        if not port.router.routes and port.listener is not None:
            del self.ports[port_number]
            await port.listener.stop()


def _tls_context(tls: tuple[str, str] | None) -> ssl.SSLContext | None:
    if tls is None:
        return None
    cert, key = tls
    for field_name, path in (("serverCertPath", cert), ("serverKeyPath", key)):
        if not Path(path).is_file():
            raise GatewayError(f"{field_name}: {path} does not exist")
    try:
        return server_ssl_context(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise GatewayError(
            f"serverCertPath/serverKeyPath: cannot load certificate: {exc}"
        ) from None


class WebhookSource:
    """One endpoint: started, it is routed on the port its config names (or the function's)."""

    def __init__(self, origin: Origin, config: WebhookConfig, context: SourceContext) -> None:
        self.origin = origin
        self.config = config
        self.servers = servers_for(context)
        self.route: Route | None = None
        self.address: str | None = None

    async def start(self, emit: Emit) -> None:
        config = self.config
        bearer = resolve(config.bearer_token) if config.bearer_token else None
        hmac_key = resolve(config.hmac.secret).encode() if config.hmac else None
        route = Route(self.origin, config, emit, bearer, hmac_key)
        self.address = await self.servers.attach(route)
        self.route = route

    async def stop(self) -> None:
        if self.route is not None:
            await self.servers.detach(self.route)
            self.route = None


def servers_for(context: SourceContext) -> WebhookServers:
    """The process's one :class:`WebhookServers`, made from its settings on first use."""
    settings = context.settings

    def make() -> WebhookServers:
        return WebhookServers(host=settings.host, default_port=settings.port)

    servers: WebhookServers = context.resource(SERVERS, make)
    return servers


KIND = SourceKind(name="webhook", config=WebhookConfig, create=WebhookSource)
