"""Connection options for nats-py from a NATS source config: TLS and credentials.

Problems name the config field (``tls.caCertPath: ...``, ``auth.password: ...``) and are
raised when the source starts, so it is marked failed with that reason.
"""

from __future__ import annotations

import ssl
from typing import Any

from gateways.config.common import TLSConfig
from gateways.config.nats import NATSConfig
from gateways.errors import GatewayError
from gateways.secrets import SecretNotFoundError, resolve


def connect_options(config: NATSConfig) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if config.secure:
        options["tls"] = tls_context(config.tls or TLSConfig())
    auth = config.auth
    if auth is not None:
        if auth.username:
            options["user"] = auth.username
            options["password"] = _secret(auth.password, "auth.password") if auth.password else ""
        if auth.token is not None:
            options["token"] = _secret(auth.token, "auth.token")
        if auth.credentials_file:
            options["user_credentials"] = auth.credentials_file
    return options


def tls_context(tls: TLSConfig) -> ssl.SSLContext:
    try:
        context = ssl.create_default_context(cafile=tls.ca_cert_path)
    except (OSError, ssl.SSLError) as exc:
        raise GatewayError(f"tls.caCertPath: cannot load {tls.ca_cert_path}: {exc}") from None
    if tls.client_cert_path and tls.client_key_path:
        try:
            context.load_cert_chain(tls.client_cert_path, tls.client_key_path)
        except (OSError, ssl.SSLError) as exc:
            raise GatewayError(f"tls.clientCertPath/clientKeyPath: cannot load: {exc}") from None
    if tls.insecure_skip_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _secret(ref: Any, field: str) -> str:
    try:
        return resolve(ref)
    except SecretNotFoundError as exc:
        raise GatewayError(f"{field}: {exc}") from None
