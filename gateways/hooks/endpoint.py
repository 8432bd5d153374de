"""Where an HTTP-family source listens: endpoint, methods, port, TLS, body limit, public URL.

The webhook reads these at the top level of its config (seed era); the community kinds read
them from their ``hook`` mapping, as the seed era's GitHub, GitLab, Slack and SNS gateways did.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateways.config.fields import Fields

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
DEFAULT_MAX_PAYLOAD = 1 << 20
MAX_PAYLOAD = 1 << 30  # a body is held in memory whole


@dataclass(frozen=True, slots=True)
class HookEndpoint:
    endpoint: str
    methods: frozenset[str] = frozenset({"POST"})
    port: int | None = None
    server_cert_path: str | None = None
    server_key_path: str | None = None
    max_payload_size: int = DEFAULT_MAX_PAYLOAD
    url: str | None = None  # where the service upstream reaches this endpoint (registration)

    @property
    def tls(self) -> tuple[str, str] | None:
        if self.server_cert_path and self.server_key_path:
            return self.server_cert_path, self.server_key_path
        return None

    @classmethod
    def read(cls, fields: Fields, *, methods: bool = True, url: bool = False) -> HookEndpoint:
        """The endpoint fields of ``fields`` (the config itself, or its ``hook`` mapping)."""
        endpoint = fields.required_str("endpoint")
        if endpoint and not endpoint.startswith("/"):
            fields.problem("endpoint", f"{endpoint!r} must start with '/'")
        allowed = _methods(fields) if methods else frozenset({"POST"})
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
        public = fields.str("url") if url else None
        if public is not None and not public.startswith(("http://", "https://")):
            fields.problem("url", f"{public!r} is not an http or https URL")
        return cls(endpoint, allowed, port, cert, key, max_size, public)

    @classmethod
    def parse_hook(cls, fields: Fields, *, url: bool = True) -> HookEndpoint:
        """The seed-era community shape: a required ``hook`` mapping."""
        sub = fields.sub("hook")
        if sub is None:
            fields.problem("hook", "is required (endpoint, port, url)")
            return cls("/")
        found = cls.read(sub, methods=False, url=url)
        sub.finish()
        return found


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
