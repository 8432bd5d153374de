"""Webhook source config: one endpoint (path + methods) on a port, with optional auth and TLS."""

from __future__ import annotations

from dataclasses import dataclass

from gateways.config.common import SecretRef
from gateways.config.fields import Fields

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
DEFAULT_MAX_PAYLOAD = 1 << 20
MAX_PAYLOAD = 1 << 30  # a webhook body is held in memory whole


@dataclass(frozen=True, slots=True)
class HMACAuth:
    """A signature over the raw body, as GitHub sends it: ``X-Hub-Signature-256: sha256=<hex>``."""

    secret: SecretRef
    header: str = "X-Hub-Signature-256"
    prefix: str = "sha256="
    algorithm: str = "sha256"


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    endpoint: str
    methods: frozenset[str]
    port: int | None = None
    server_cert_path: str | None = None
    server_key_path: str | None = None
    max_payload_size: int = DEFAULT_MAX_PAYLOAD
    bearer_token: SecretRef | None = None
    hmac: HMACAuth | None = None

    @property
    def tls(self) -> bool:
        return bool(self.server_cert_path)

    @classmethod
    def parse(cls, fields: Fields) -> WebhookConfig:
        endpoint = fields.required_str("endpoint")
        if endpoint and not endpoint.startswith("/"):
            fields.problem("endpoint", f"{endpoint!r} must start with '/'")
        methods = _methods(fields)
        port = fields.int("port", minimum=1, maximum=65535)
        cert = fields.str("serverCertPath")
        key = fields.str("serverKeyPath")
        if bool(cert) != bool(key):
            fields.problem(
                "serverCertPath" if key else "serverKeyPath",
                "TLS needs both serverCertPath and serverKeyPath",
            )
        max_size = (
            fields.int("maxPayloadSize", DEFAULT_MAX_PAYLOAD, minimum=1, maximum=MAX_PAYLOAD)
            or DEFAULT_MAX_PAYLOAD
        )
        bearer = SecretRef.parse(fields, "authSecret")  # the name later Argo releases use
        hmac = None
        auth = fields.sub("auth")
        if auth is not None:
            bearer = SecretRef.parse(auth, "bearerToken") or bearer
            hmac = _hmac(auth)
            auth.finish()
        return cls(
            endpoint=endpoint,
            methods=methods,
            port=port,
            server_cert_path=cert,
            server_key_path=key,
            max_payload_size=max_size,
            bearer_token=bearer,
            hmac=hmac,
        )


def _methods(fields: Fields) -> frozenset[str]:
    names = fields.str_list("methods")
    single = fields.str("method")
    if single:
        names.append(single)
    if not names:
        return frozenset({"POST"})
    methods = set()
    for name in names:
        method = name.strip().upper()
        if method not in HTTP_METHODS:
            fields.problem("method", f"{name!r} is not an HTTP method")
        else:
            methods.add(method)
    return frozenset(methods or {"POST"})


def _hmac(auth: Fields) -> HMACAuth | None:
    sub = auth.sub("hmac")
    if sub is None:
        return None
    # A slotted dataclass has no class-level defaults (HMACAuth.header is a slot descriptor).
    defaults = HMACAuth(SecretRef())
    secret = SecretRef.parse(sub, "secret", required=True)
    header = sub.str("header", defaults.header) or defaults.header
    prefix = sub.str("prefix", defaults.prefix)
    algorithm = sub.choice("algorithm", ("sha1", "sha256", "sha512"), defaults.algorithm)
    sub.finish()
    if secret is None:
        return None
    return HMACAuth(
        secret, header, defaults.prefix if prefix is None else prefix, algorithm or "sha256"
    )
