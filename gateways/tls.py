"""Client TLS contexts for broker connections, from a source's ``tls`` config."""

from __future__ import annotations

import ssl

from gateways.config.common import TLSConfig
from gateways.errors import GatewayError


def client_context(tls: TLSConfig | None) -> ssl.SSLContext:
    """The system CAs, or ``tls.caCertPath``, plus a client certificate when one is given.

    Raises GatewayError naming the ``tls`` field whose file cannot be used.
    """
    try:
        context = ssl.create_default_context(cafile=tls.ca_cert_path if tls else None)
    except FileNotFoundError:
        raise GatewayError(f"tls.caCertPath: {tls and tls.ca_cert_path} does not exist") from None
    except ssl.SSLError as exc:
        raise GatewayError(f"tls.caCertPath: cannot load CA certificates: {exc}") from None
    if tls is None:
        return context
    if tls.client_cert_path and tls.client_key_path:
        try:
            context.load_cert_chain(tls.client_cert_path, tls.client_key_path)
        except (OSError, ssl.SSLError) as exc:
            raise GatewayError(
                f"tls.clientCertPath/clientKeyPath: cannot load the client certificate: {exc}"
            ) from None
    if tls.insecure_skip_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
