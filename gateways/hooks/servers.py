"""The routers of one process, one per port, and the listeners that serve them.

In a deployed function every HTTP-family source shares ``shared`` (served by the function's
own host); in the embedded default each distinct ``port`` gets a listener of its own, with TLS
when its sources name a certificate.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path

from gateways.errors import GatewayError
from gateways.hooks.router import Route, Router
from gateways.hosting.server import Listener, server_ssl_context
from gateways.kinds import SourceContext

SERVERS = "hook-servers"  # the SourceContext resource every HTTP-family source shares


class PortConflictError(GatewayError):
    pass


@dataclass
class _Port:
    router: Router
    listener: Listener | None
    tls: tuple[str, str] | None


@dataclass
class HookServers:
    host: str = "127.0.0.1"
    default_port: int = 12000
    shared: Router | None = None
    ports: dict[int, _Port] = field(default_factory=dict)

    async def attach(self, route: Route) -> str:
        """Serve ``route``; returns where (for logs and the status page)."""
        endpoint = route.endpoint
        if self.shared is not None:
            self.shared.add(route)
            return endpoint.endpoint
        port_number = endpoint.port or self.default_port
        tls = endpoint.tls
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
        return f"{scheme}://{self.host}:{port_number}{endpoint.endpoint}"

    async def detach(self, route: Route) -> None:
        if self.shared is not None:
            self.shared.remove(route)
            return
        port_number = route.endpoint.port or self.default_port
        port = self.ports.get(port_number)
        if port is None:
            return
        port.router.remove(route)
        if not port.router.routes and port.listener is not None:
            del self.ports[port_number]
            await port.listener.stop()


def servers_for(context: SourceContext) -> HookServers:
    """The process's one :class:`HookServers`, made from its settings on first use."""
    settings = context.settings

    def make() -> HookServers:
        return HookServers(host=settings.host, default_port=settings.port)

    servers: HookServers = context.resource(SERVERS, make)
    return servers


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
