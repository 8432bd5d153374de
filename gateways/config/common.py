"""Config pieces that several source kinds share: backoff, secret references, TLS, auth, URLs."""

from __future__ import annotations

import random
from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

from gateways.config.fields import Fields, parse_duration


@dataclass(frozen=True, slots=True)
class Backoff:
    """Reconnect/retry backoff, seed-era shape ``{duration, factor, jitter, steps}``.

    ``steps`` of 0 means retry for ever; the delay never exceeds ``cap``. A bare integer
    ``duration`` is nanoseconds, as in the seed era (Go's time.Duration).
    """

    duration: timedelta = timedelta(seconds=1)
    factor: float = 2.0
    jitter: float = 0.2
    steps: int = 0
    cap: timedelta = timedelta(seconds=60)

    def delay(self, attempt: int, *, jitter: bool = True) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        base = self.duration.total_seconds() * (self.factor**attempt)
        base = min(base, self.cap.total_seconds())
        if jitter and self.jitter > 0:
            base += base * self.jitter * random.random()
        return base

    def exhausted(self, attempt: int) -> bool:
        return self.steps > 0 and attempt >= self.steps

    @classmethod
    def parse(cls, fields: Fields, name: str = "backoff") -> Backoff:
        sub = fields.sub(name)
        defaults = cls()  # a slotted dataclass has no class-level defaults (cls.jitter is a slot)
        if sub is None:
            return defaults
        duration = defaults.duration
        raw = sub.get("duration")
        if raw is not None:
            try:
                if isinstance(raw, int) and not isinstance(raw, bool):
                    duration = timedelta(microseconds=raw / 1000)
                else:
                    duration = parse_duration(raw)
            except ValueError as exc:
                sub.problem("duration", str(exc))
        if duration <= timedelta(0):
            sub.problem("duration", "must be positive")
            duration = defaults.duration
        factor = sub.float("factor", defaults.factor, minimum=1.0) or defaults.factor
        jitter = sub.float("jitter", defaults.jitter, minimum=0.0)
        steps = sub.int("steps", defaults.steps, minimum=0) or 0
        cap = sub.duration("cap", defaults.cap) or defaults.cap
        sub.finish()
        return cls(duration, factor, defaults.jitter if jitter is None else jitter, steps, cap)


@dataclass(frozen=True, slots=True)
class SecretRef:
    """A secret by reference, never by value.

    ``{name, key}`` is a Kubernetes Secret key (seed-era ``SecretKeySelector``); locally it is
    read from ``$GATEWAYS_SECRETS_DIR/<name>/<key>`` (a mounted Secret's layout) or the
    environment variable ``<NAME>_<KEY>`` (upper case, ``-`` and ``.`` as ``_``).
    ``{env: VAR}`` and ``{file: PATH}`` name a variable or file directly.
    """

    name: str | None = None
    key: str | None = None
    env: str | None = None
    file: str | None = None

    def describe(self) -> str:
        if self.env:
            return f"env {self.env}"
        if self.file:
            return f"file {self.file}"
        return f"secret {self.name}/{self.key}"

    @classmethod
    def parse(cls, fields: Fields, name: str, *, required: bool = False) -> SecretRef | None:
        sub = fields.sub(name)
        if sub is None:
            if required:
                fields.problem(name, "is required (a secret reference {name, key})")
            return None
        ref = cls(
            name=sub.str("name"),
            key=sub.str("key"),
            env=sub.str("env"),
            file=sub.str("file"),
        )
        sub.finish(ignore=("optional", "localObjectReference"))
        if not (ref.env or ref.file or (ref.name and ref.key)):
            fields.problem(name, "needs {name, key}, {env} or {file}")
        return ref


@dataclass(frozen=True, slots=True)
class TLSConfig:
    """Client TLS options; every path is a file mounted from a Secret."""

    ca_cert_path: str | None = None
    client_cert_path: str | None = None
    client_key_path: str | None = None
    insecure_skip_verify: bool = False

    @classmethod
    def parse(cls, fields: Fields, name: str = "tls") -> TLSConfig | None:
        sub = fields.sub(name)
        if sub is None:
            return None
        tls = cls(
            ca_cert_path=sub.str("caCertPath"),
            client_cert_path=sub.str("clientCertPath"),
            client_key_path=sub.str("clientKeyPath"),
            insecure_skip_verify=sub.bool("insecureSkipVerify"),
        )
        sub.finish()
        if bool(tls.client_cert_path) != bool(tls.client_key_path):
            fields.problem(name, "clientCertPath and clientKeyPath go together")
        return tls


@dataclass(frozen=True, slots=True)
class BasicAuth:
    """``{username, password}`` for a broker; the password is a secret reference."""

    username: str
    password: SecretRef | None = None

    @classmethod
    def read(cls, sub: Fields, *, password_required: bool = False) -> BasicAuth | None:
        """Read ``username``/``password`` from an auth block; the caller reads its other keys."""
        username = sub.str("username")
        password = SecretRef.parse(sub, "password", required=password_required and bool(username))
        if password is not None and not username:
            sub.problem("username", "is required with password")
        return cls(username, password) if username else None

    @classmethod
    def parse(
        cls, fields: Fields, name: str = "auth", *, password_required: bool = False
    ) -> BasicAuth | None:
        sub = fields.sub(name)
        if sub is None:
            return None
        if not sub.has("username") and not sub.has("password"):
            sub.problem("username", "is required")
        auth = cls.read(sub, password_required=password_required)
        sub.finish()
        return auth


def redact_url(text: str) -> str:
    """The URL with any password replaced, for problems and logs."""
    parts = urlsplit(text)
    if parts.password is None:
        return text
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{parts.netloc.rpartition('@')[2]}"))


def parse_url(
    fields: Fields, name: str, schemes: Collection[str], *, required: bool = True
) -> str | None:
    """Read a broker URL: its scheme must be one of ``schemes`` and it must name a host.

    Returns the stripped text ("" when required and missing, so callers keep a ``str``).
    """
    text = fields.str(name, required=required)
    if text is None:
        return None
    text = text.strip()
    if not text:
        return text
    shown = repr(redact_url(text))
    parts = urlsplit(text)
    if parts.scheme.lower() not in schemes:
        starts = [f"{scheme}://" for scheme in sorted(schemes)]
        choices = " or ".join(starts) if len(starts) <= 2 else f"one of {', '.join(starts)}"
        fields.problem(name, f"{shown} must start with {choices}")
        return text
    try:
        parts.port  # noqa: B018 - urlsplit checks the port lazily
    except ValueError:
        fields.problem(name, f"{shown} has an invalid port")
        return text
    if not parts.hostname:
        fields.problem(name, f"{shown} names no host")
    return text


def split_host_port(text: str) -> tuple[str, int]:
    """``host:port`` (or ``[v6addr]:port``) as ``(host, port)``; ValueError says what is wrong."""
    value = text.strip()
    if "://" in value:
        raise ValueError(f"{text!r} must be host:port, without a scheme")
    parts = urlsplit(f"//{value}")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{text!r} has an invalid port") from None
    if not parts.hostname or port is None or parts.path or parts.query or parts.username:
        raise ValueError(f"{text!r} is not host:port")
    return parts.hostname, port
