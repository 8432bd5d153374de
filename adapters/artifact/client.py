"""The MinIO client of one artifact source: credentials from secret references, TLS from config.

A listen request may stay silent for as long as the bucket is idle, so reads have no timeout;
TCP keepalive finds a connection whose peer went away instead.
"""

from __future__ import annotations

import os
import socket
from typing import Any

import certifi
import urllib3
from minio import Minio
from urllib3.connection import HTTPConnection

from gateways.config.artifact import ArtifactConfig
from gateways.secrets import resolve

CONNECT_TIMEOUT = 10.0
_KEEPALIVE = [
    (socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1),
    *(
        (socket.IPPROTO_TCP, getattr(socket, name), value)
        for name, value in (("TCP_KEEPIDLE", 30), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 3))
        if hasattr(socket, name)
    ),
]


def http_pool(config: ArtifactConfig) -> urllib3.PoolManager:
    options: dict[str, Any] = {
        "timeout": urllib3.Timeout(connect=CONNECT_TIMEOUT, read=None),
        "maxsize": 2,
        "retries": urllib3.Retry(total=0),  # the source retries with the config's backoff
        "socket_options": [*HTTPConnection.default_socket_options, *_KEEPALIVE],
    }
    tls = config.tls
    if config.secure:
        verify = not (tls is not None and tls.insecure_skip_verify)
        options["cert_reqs"] = "CERT_REQUIRED" if verify else "CERT_NONE"
        ca = tls.ca_cert_path if tls is not None else None
        options["ca_certs"] = ca or os.environ.get("SSL_CERT_FILE") or certifi.where()
        if tls is not None and tls.client_cert_path:
            options["cert_file"] = tls.client_cert_path
            options["key_file"] = tls.client_key_path
    return urllib3.PoolManager(**options)


def build_client(config: ArtifactConfig) -> Minio:
    """Raises SecretNotFoundError (a GatewayError) when a key cannot be resolved."""
    return Minio(
        config.endpoint,
        access_key=resolve(config.access_key),
        secret_key=resolve(config.secret_key),
        secure=config.secure,
        region=config.region,
        http_client=http_pool(config),
    )
