"""Webhook source config: one endpoint (path + methods) on a port, with optional auth and TLS."""

from __future__ import annotations

from dataclasses import dataclass

from gateways.config.common import SecretRef
from gateways.config.fields import Fields
from gateways.hooks.endpoint import DEFAULT_MAX_PAYLOAD, HookEndpoint

__all__ = ["DEFAULT_MAX_PAYLOAD", "HMACAuth", "WebhookConfig"]


@dataclass(frozen=True, slots=True)
class HMACAuth:
    """A signature over the raw body, as GitHub sends it: ``X-Hub-Signature-256: sha256=<hex>``."""

    secret: SecretRef
    header: str = "X-Hub-Signature-256"
    prefix: str = "sha256="
    algorithm: str = "sha256"


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    hook: HookEndpoint  # endpoint, method(s), port, TLS, maxPayloadSize: at the top level
    bearer_token: SecretRef | None = None
    hmac: HMACAuth | None = None

    @property
    def endpoint(self) -> str:
        return self.hook.endpoint

    @property
    def methods(self) -> frozenset[str]:
        return self.hook.methods

    @property
    def port(self) -> int | None:
        return self.hook.port

    @property
    def max_payload_size(self) -> int:
        return self.hook.max_payload_size

    @property
    def tls(self) -> bool:
        return self.hook.tls is not None

    @classmethod
    def parse(cls, fields: Fields) -> WebhookConfig:
        hook = HookEndpoint.read(fields)
        bearer = SecretRef.parse(fields, "authSecret")  # the name later Argo releases use
        hmac = None
        auth = fields.sub("auth")
        if auth is not None:
            bearer = SecretRef.parse(auth, "bearerToken") or bearer
            hmac = _hmac(auth)
            auth.finish()
        return cls(hook, bearer, hmac)


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
