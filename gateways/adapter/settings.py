"""Adapter settings, read once from the environment next to the shared :class:`Settings`.

An adapter is a gateway client plus, unless ``GATEWAYS_EVENT_SOURCE_SERVER`` names an external
(custom) one, its own event-source server. Its events go to the dispatcher function over HTTP
(``GATEWAYS_DISPATCH=http``, the default when ``GATEWAYS_DISPATCHER_URL`` is set), or through
the dispatcher in-process (``direct``, the default otherwise).

``K_SINK`` is what a Knative ContainerSource or SinkBinding injects: a CloudEvents destination
(a Broker, Channel or Service), so it is a watcher here as in every other process, never the
dispatcher function, which only ``GATEWAYS_DISPATCHER_URL`` addresses. With only ``K_SINK``
an adapter runs ``direct`` and delivers CloudEvents there. In ``http`` mode the dispatcher
function delivers to each gateway's watchers and to its own ``K_SINK``; the adapter's
``K_SINK`` stays a watcher of the in-process dispatcher that takes an event too large for any
request to the dispatcher function, so such an event still reaches the same Broker when both
are given the same sink.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from gateways.config.fields import parse_duration
from gateways.config.server import ServerSpec
from gateways.delivery.spec import is_http_url
from gateways.delivery.watchers import watchers_from_env
from gateways.errors import ConfigError, SettingsError
from gateways.settings import Settings, int_setting

Dispatch = Literal["direct", "http"]


@dataclass(frozen=True, slots=True)
class AdapterSettings:
    kind: str
    base: Settings  # registry, watchers, admin port, GATEWAYS_MAX_IN_FLIGHT (per source)
    dispatch: Dispatch = "direct"  # GATEWAYS_DISPATCH
    dispatcher_url: str | None = None  # GATEWAYS_DISPATCHER_URL (http mode)
    # A custom event-source server to drive instead of the built-in one: an address, or the
    # YAML a gateway's ``gateways.dev/event-source-server`` annotation takes.
    event_source_server: ServerSpec | None = None  # GATEWAYS_EVENT_SOURCE_SERVER
    server_host: str = "127.0.0.1"  # GATEWAYS_EVENT_SOURCE_HOST (the built-in server)
    server_port: int = 0  # GATEWAYS_EVENT_SOURCE_PORT (0: any free port)
    batch_size: int = 64  # GATEWAYS_BATCH_SIZE: most events in one dispatcher request
    batch_linger: float = 0.002  # GATEWAYS_BATCH_LINGER: longest wait to fill a batch
    max_requests: int = 16  # GATEWAYS_DISPATCH_CONCURRENCY: dispatcher requests in flight
    dispatch_timeout: float = 30.0  # GATEWAYS_DISPATCH_TIMEOUT: per request
    dispatch_retries: int = 5  # GATEWAYS_DISPATCH_RETRIES: then the broker redelivers
    shutdown_grace: float = 20.0  # GATEWAYS_SHUTDOWN_GRACE: in-flight events finish, else nacked

    @property
    def server_address(self) -> str:
        if self.event_source_server is not None:
            return self.event_source_server.address
        host = f"[{self.server_host}]" if ":" in self.server_host else self.server_host
        return f"{host}:{self.server_port}"

    @classmethod
    def from_env(cls, kind: str, env: Mapping[str, str] | None = None) -> AdapterSettings:
        env = os.environ if env is None else env
        base = Settings.from_env(env)
        values: dict[str, object] = {}
        watchers_from_env(env)  # a bad K_SINK or GATEWAYS_WATCHERS fails here, by its name
        url = (env.get("GATEWAYS_DISPATCHER_URL") or "").strip()
        mode = (env.get("GATEWAYS_DISPATCH") or ("http" if url else "direct")).strip().lower()
        if mode not in ("direct", "http"):
            raise SettingsError("GATEWAYS_DISPATCH", f"{mode!r} is not direct or http")
        if mode == "http":
            if not url:
                raise SettingsError(
                    "GATEWAYS_DISPATCHER_URL",
                    "required with GATEWAYS_DISPATCH=http (K_SINK is a CloudEvents destination,"
                    " not the dispatcher)",
                )
            if not is_http_url(url):
                raise SettingsError(
                    "GATEWAYS_DISPATCHER_URL", f"{url!r} is not an absolute http or https URL"
                )
            values["dispatcher_url"] = url
        values["dispatch"] = mode
        if env.get("GATEWAYS_EVENT_SOURCE_SERVER"):
            values["event_source_server"] = _server(env["GATEWAYS_EVENT_SOURCE_SERVER"])
        if env.get("GATEWAYS_EVENT_SOURCE_HOST"):
            values["server_host"] = env["GATEWAYS_EVENT_SOURCE_HOST"].strip()
        for variable, name, low, high in (
            ("GATEWAYS_EVENT_SOURCE_PORT", "server_port", 0, 65535),
            ("GATEWAYS_BATCH_SIZE", "batch_size", 1, 10_000),
            ("GATEWAYS_DISPATCH_CONCURRENCY", "max_requests", 1, 10_000),
            ("GATEWAYS_DISPATCH_RETRIES", "dispatch_retries", 0, 1_000),
        ):
            if env.get(variable):
                values[name] = int_setting(variable, env[variable], low, high)
        for variable, name in (
            ("GATEWAYS_BATCH_LINGER", "batch_linger"),
            ("GATEWAYS_DISPATCH_TIMEOUT", "dispatch_timeout"),
            ("GATEWAYS_SHUTDOWN_GRACE", "shutdown_grace"),
        ):
            if env.get(variable):
                values[name] = _seconds(variable, env[variable])
        return cls(kind, base, **values)  # type: ignore[arg-type]


def _server(text: str) -> ServerSpec:
    try:
        return ServerSpec.parse(text, "GATEWAYS_EVENT_SOURCE_SERVER")
    except ConfigError as exc:
        raise SettingsError("GATEWAYS_EVENT_SOURCE_SERVER", _without_label(exc)) from None


def _without_label(exc: ConfigError) -> str:
    return "; ".join(p.removeprefix("GATEWAYS_EVENT_SOURCE_SERVER: ") for p in exc.problems)


def _seconds(variable: str, value: str) -> float:
    try:
        seconds = parse_duration(value).total_seconds()
    except ValueError as exc:
        raise SettingsError(variable, str(exc)) from None
    if seconds < 0:
        raise SettingsError(variable, f"{value!r} must not be negative")
    return seconds
