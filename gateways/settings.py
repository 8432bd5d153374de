"""Process settings, read once from the environment into one typed object.

Every field has one environment variable; the CLI's options override them. A bad value fails
fast with the variable's name (SettingsError).
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gateways.config.fields import parse_duration
from gateways.errors import SettingsError

SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
DEFAULT_STATE_DIR = Path("~/.local/state/gateways").expanduser()


@dataclass(frozen=True, slots=True)
class Settings:
    # Registry: a local file, or ConfigMaps watched through the Kubernetes API.
    registry_file: Path | None = None  # GATEWAYS_REGISTRY_FILE
    configmaps: tuple[str, ...] = ()  # GATEWAYS_CONFIGMAPS (comma-separated names)
    namespace: str = "default"  # NAMESPACE / POD_NAMESPACE
    gateway_type: str | None = None  # GATEWAY_TYPE, for ConfigMaps without the type label
    # Watchers every gateway delivers to, besides its own: K_SINK and GATEWAYS_WATCHERS.
    sink: str | None = None  # K_SINK
    watchers: tuple[str, ...] = ()  # GATEWAYS_WATCHERS (comma-separated URLs or "console")
    ce_overrides: Mapping[str, str] = field(default_factory=dict)  # K_CE_OVERRIDES
    # Serving.
    host: str = "127.0.0.1"  # GATEWAYS_HOST (0.0.0.0 inside a container)
    port: int = 8080  # PORT
    state_dir: Path = DEFAULT_STATE_DIR  # GATEWAYS_STATE_DIR
    max_in_flight: int = 256  # GATEWAYS_MAX_IN_FLIGHT
    watcher_connections: int = 64  # GATEWAYS_WATCHER_CONNECTIONS: open at once, per watcher
    log_level: str = "INFO"  # GATEWAYS_LOG_LEVEL
    log_format: str = "text"  # GATEWAYS_LOG_FORMAT: text, or json (one object per line)
    event_loop: str = "auto"  # GATEWAYS_EVENT_LOOP: uvloop where installed (auto), or asyncio
    admin_port: int = 7070  # GATEWAYS_ADMIN_PORT: /status, /healthz, /readyz, /metrics
    # The largest request the dispatcher takes, and adapters send it (the same on both).
    max_request_bytes: int = 10 << 20  # GATEWAYS_MAX_REQUEST_BYTES
    # Replicas: exclusive sources are shared out through Leases (gateways.replicas).
    replicas: str = "none"  # GATEWAYS_REPLICAS: leases (default with ConfigMaps) or none
    replica_id: str = ""  # GATEWAYS_REPLICA_ID, else POD_NAME, else <hostname>-<pid>
    lease_duration: float = 15.0  # GATEWAYS_LEASE_DURATION (seconds or "15s")
    renew_deadline: float = 10.0  # GATEWAYS_RENEW_DEADLINE
    retry_period: float = 2.0  # GATEWAYS_RETRY_PERIOD

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        if env.get("GATEWAYS_REGISTRY_FILE"):
            values["registry_file"] = Path(env["GATEWAYS_REGISTRY_FILE"])
        values["configmaps"] = _csv(env.get("GATEWAYS_CONFIGMAPS"))
        namespace = env.get("NAMESPACE") or env.get("POD_NAMESPACE") or _pod_namespace()
        if namespace:
            values["namespace"] = namespace
        values["gateway_type"] = env.get("GATEWAY_TYPE") or None
        values["sink"] = env.get("K_SINK") or None
        values["watchers"] = _csv(env.get("GATEWAYS_WATCHERS"))
        values["ce_overrides"] = _ce_overrides(env.get("K_CE_OVERRIDES"))
        if env.get("GATEWAYS_HOST"):
            values["host"] = env["GATEWAYS_HOST"]
        if env.get("PORT"):
            values["port"] = int_setting("PORT", env["PORT"], 1, 65535)
        if env.get("GATEWAYS_STATE_DIR"):
            values["state_dir"] = Path(env["GATEWAYS_STATE_DIR"]).expanduser()
        if env.get("GATEWAYS_MAX_IN_FLIGHT"):
            values["max_in_flight"] = int_setting(
                "GATEWAYS_MAX_IN_FLIGHT", env["GATEWAYS_MAX_IN_FLIGHT"], 1, 1 << 20
            )
        if env.get("GATEWAYS_WATCHER_CONNECTIONS"):
            values["watcher_connections"] = int_setting(
                "GATEWAYS_WATCHER_CONNECTIONS", env["GATEWAYS_WATCHER_CONNECTIONS"], 1, 1 << 16
            )
        if env.get("GATEWAYS_ADMIN_PORT"):
            values["admin_port"] = int_setting(
                "GATEWAYS_ADMIN_PORT", env["GATEWAYS_ADMIN_PORT"], 0, 65535
            )
        if env.get("GATEWAYS_MAX_REQUEST_BYTES"):
            values["max_request_bytes"] = int_setting(
                "GATEWAYS_MAX_REQUEST_BYTES", env["GATEWAYS_MAX_REQUEST_BYTES"], 4096, 1 << 30
            )
        if env.get("GATEWAYS_LOG_LEVEL"):
            level = env["GATEWAYS_LOG_LEVEL"].upper()
            if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
                raise SettingsError(
                    "GATEWAYS_LOG_LEVEL", f"{level!r} is not DEBUG, INFO, WARNING or ERROR"
                )
            values["log_level"] = level
        values["log_format"] = log_format(env)
        values["event_loop"] = event_loop(env)
        values.update(_replica_settings(env, bool(values["configmaps"])))
        return cls(**values)

    def with_options(self, **changes: Any) -> Settings:
        """These settings with CLI options applied (None means 'not given')."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def log_format(env: Mapping[str, str]) -> str:
    """``GATEWAYS_LOG_FORMAT``: ``text`` (the default) or ``json``."""
    value = env.get("GATEWAYS_LOG_FORMAT", "").strip().lower() or "text"
    if value not in ("text", "json"):
        raise SettingsError("GATEWAYS_LOG_FORMAT", f"{value!r} is not text or json")
    return value


def event_loop(env: Mapping[str, str]) -> str:
    """``GATEWAYS_EVENT_LOOP``: ``uvloop`` (the default where it is installed) or ``asyncio``."""
    value = env.get("GATEWAYS_EVENT_LOOP", "").strip().lower() or "auto"
    if value not in ("auto", "uvloop", "asyncio"):
        raise SettingsError("GATEWAYS_EVENT_LOOP", f"{value!r} is not uvloop or asyncio")
    return value


def _replica_settings(env: Mapping[str, str], configmaps: bool) -> dict[str, Any]:
    """The replica settings; the lease timings must run duration > deadline > retry > 0."""
    mode = (env.get("GATEWAYS_REPLICAS") or ("leases" if configmaps else "none")).strip().lower()
    if mode not in ("leases", "none"):
        raise SettingsError("GATEWAYS_REPLICAS", f"{mode!r} is not leases or none")
    identity = (env.get("GATEWAYS_REPLICA_ID") or env.get("POD_NAME") or "").strip()
    values: dict[str, Any] = {
        "replicas": mode,
        "replica_id": identity or f"{socket.gethostname()}-{os.getpid()}",
    }
    for variable, name in (
        ("GATEWAYS_LEASE_DURATION", "lease_duration"),
        ("GATEWAYS_RENEW_DEADLINE", "renew_deadline"),
        ("GATEWAYS_RETRY_PERIOD", "retry_period"),
    ):
        if env.get(variable):
            values[name] = _seconds(variable, env[variable])
    duration = values.get("lease_duration", 15.0)
    deadline = values.get("renew_deadline", 10.0)
    retry = values.get("retry_period", 2.0)
    if not duration > deadline > retry > 0:
        raise SettingsError(
            "GATEWAYS_RENEW_DEADLINE",
            f"lease duration {duration}s > renew deadline {deadline}s > retry period {retry}s"
            " must hold (a replica stops its sources before another may take them)",
        )
    return values


def _seconds(variable: str, value: str) -> float:
    try:
        return parse_duration(value).total_seconds()
    except ValueError as exc:
        raise SettingsError(variable, str(exc)) from None


def _pod_namespace() -> str | None:
    """In a pod, the namespace of its service account (no downward API needed)."""
    try:
        return SERVICE_ACCOUNT_NAMESPACE.read_text().strip() or None
    except OSError:
        return None


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


def int_setting(variable: str, value: str, low: int, high: int) -> int:
    """An integer setting within bounds; SettingsError names the variable otherwise."""
    try:
        number = int(value)
    except ValueError:
        raise SettingsError(variable, f"{value!r} is not an integer") from None
    if not low <= number <= high:
        raise SettingsError(variable, f"{number} is not between {low} and {high}")
    return number


def _ce_overrides(value: str | None) -> dict[str, str]:
    """Knative's ``K_CE_OVERRIDES``: ``{"extensions": {"name": "value", ...}}``."""
    if not value:
        return {}
    try:
        document = json.loads(value)
    except ValueError as exc:
        raise SettingsError("K_CE_OVERRIDES", f"not valid JSON: {exc}") from None
    extensions = document.get("extensions") if isinstance(document, dict) else None
    if extensions is None:
        return {}
    if not isinstance(extensions, dict):
        raise SettingsError("K_CE_OVERRIDES", "extensions must be an object of strings")
    return {str(k): str(v) for k, v in extensions.items()}
