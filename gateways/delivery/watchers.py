"""Watchers: where a gateway's CloudEvents go, and how they are written from config.

A watchers list (the ``gateways.dev/watchers`` annotation, or the local registry file) holds
items of three shapes, freely mixed::

    - http://sensor.default.svc.cluster.local:9300/     # a URL: binary mode
    - console                                           # print each event as one JSON line
    - {url: http://broker-ingress/ns/default, mode: structured, name: broker}

and the seed-era Argo form, as a mapping or as one item of the list::

    sensors:  [{name: webhook-sensor, namespace: other}]
    gateways: [{name: webhook-gateway, port: "9070", endpoint: /notifications}]

Argo v0.10 posted to a watcher's Service, ``<name>-svc.<namespace>.svc.cluster.local``: a
sensor on the gateway's event-protocol port (9300 in every example) at ``/``, a gateway on
the port and endpoint it names. The namespace defaults to the gateway's own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import yaml

from gateways import yamltext
from gateways.delivery.spec import is_http_url
from gateways.errors import ConfigError, SettingsError

Mode = Literal["binary", "structured"]
MODES: tuple[Mode, ...] = ("binary", "structured")
CONSOLE = "console"
ARGO_SENSOR_PORT = 9300


@dataclass(frozen=True, slots=True)
class Watcher:
    """One destination: an HTTP URL taking CloudEvents, or ``console`` (standard output)."""

    url: str
    mode: Mode = "binary"
    name: str = ""

    @property
    def is_console(self) -> bool:
        return self.url == CONSOLE

    @property
    def label(self) -> str:
        return self.name or self.url


CONSOLE_WATCHER = Watcher(CONSOLE, "structured", CONSOLE)


def parse_watchers(
    value: Any,
    label: str = "watchers",
    *,
    namespace: str = "default",
    sensor_port: int = ARGO_SENSOR_PORT,
) -> tuple[Watcher, ...]:
    """Every watcher in ``value`` (a list, an Argo-form mapping, one item, or their YAML text).

    ``namespace`` is the gateway's, used by Argo-form items that name none. Raises ConfigError
    listing every problem as ``<label>: <item>: <message>``.
    """
    problems: list[str] = []
    if isinstance(value, str) and value.strip() != CONSOLE and not is_http_url(value.strip()):
        try:
            value = yamltext.load(value)
        except yaml.YAMLError as exc:
            raise ConfigError([f"{label}: not valid YAML: {exc}"]) from None
    items = value if isinstance(value, list) else [] if value is None else [value]
    reader = _Reader(label, namespace, str(sensor_port), problems)
    watchers: list[Watcher] = []
    for index, item in enumerate(items):
        watchers.extend(reader.item(item, f"[{index}]" if isinstance(value, list) else ""))
    seen: set[str] = set()
    for watcher in watchers:
        if watcher.url in seen:
            problems.append(f"{label}: {watcher.url}: listed more than once")
        seen.add(watcher.url)
    if problems:
        raise ConfigError(problems)
    return tuple(watchers)


def watchers_from_env(env: Mapping[str, str]) -> tuple[Watcher, ...]:
    """Watchers the process environment names: ``K_SINK`` and ``GATEWAYS_WATCHERS``.

    ``K_SINK`` is the sink a Knative SinkBinding or ContainerSource injects (a Broker, Channel
    or Service); ``GATEWAYS_WATCHERS`` is a comma-separated list of URLs or ``console``.
    Raises SettingsError naming the variable.
    """
    watchers: list[Watcher] = []
    sink = (env.get("K_SINK") or "").strip()
    if sink:
        if not is_http_url(sink):
            raise SettingsError("K_SINK", f"{sink!r} is not an absolute http or https URL")
        watchers.append(Watcher(sink, "binary", "K_SINK"))
    for part in (env.get("GATEWAYS_WATCHERS") or "").split(","):
        text = part.strip()
        if not text or any(w.url == text for w in watchers):
            continue
        if text == CONSOLE:
            watchers.append(CONSOLE_WATCHER)
        elif is_http_url(text):
            watchers.append(Watcher(text))
        else:
            problem = f"{text!r} is not an absolute http or https URL, nor 'console'"
            raise SettingsError("GATEWAYS_WATCHERS", problem)
    return tuple(watchers)


class _Reader:
    def __init__(self, label: str, namespace: str, sensor_port: str, problems: list[str]) -> None:
        self.label = label
        self.namespace = namespace
        self.sensor_port = sensor_port
        self.problems = problems

    def problem(self, path: str, message: str) -> None:
        self.problems.append(
            f"{self.label}: {path}: {message}" if path else f"{self.label}: {message}"
        )

    def item(self, item: Any, path: str) -> Iterable[Watcher]:
        if isinstance(item, str):
            text = item.strip()
            if text == CONSOLE:
                return [CONSOLE_WATCHER]
            if is_http_url(text):
                return [Watcher(text)]
            self.problem(path, f"{item!r} is not an absolute http or https URL, nor 'console'")
            return []
        if not isinstance(item, Mapping):
            self.problem(path, f"expected a URL or a mapping, got {type(item).__name__}")
            return []
        if "sensors" in item or "gateways" in item:
            return self._argo(item, path)
        return self._explicit(item, path)

    def _explicit(self, item: Mapping[str, Any], path: str) -> list[Watcher]:
        prefix = f"{path}." if path else ""
        for key in item:
            if key not in ("url", "mode", "name"):
                self.problem(f"{prefix}{key}", "unknown field")
        url, mode, name = item.get("url"), item.get("mode", "binary"), item.get("name", "")
        ok = True
        if mode not in MODES:
            self.problem(f"{prefix}mode", f"{mode!r} is not one of {', '.join(MODES)}")
            ok = False
        if not isinstance(name, str):
            self.problem(f"{prefix}name", f"expected a string, got {type(name).__name__}")
            ok = False
        if url is None:
            self.problem(f"{prefix}url", "is required")
            return []
        if url == CONSOLE:
            return [Watcher(CONSOLE, "structured", name or CONSOLE)] if ok else []
        if not isinstance(url, str) or not is_http_url(url):
            self.problem(f"{prefix}url", f"{url!r} is not an absolute http or https URL")
            return []
        return [Watcher(url, mode, name)] if ok else []

    def _argo(self, item: Mapping[str, Any], path: str) -> list[Watcher]:
        prefix = f"{path}." if path else ""
        for key in item:
            if key not in ("sensors", "gateways"):
                self.problem(f"{prefix}{key}", "unknown field")
        watchers: list[Watcher] = []
        for kind, allowed in (("sensors", ("name", "namespace")), ("gateways", _GATEWAY_FIELDS)):
            entries = item.get(kind) or []
            if not isinstance(entries, list):
                self.problem(f"{prefix}{kind}", "expected a list")
                continue
            for index, entry in enumerate(entries):
                where = f"{prefix}{kind}[{index}]"
                if not isinstance(entry, Mapping):
                    self.problem(where, f"expected a mapping, got {type(entry).__name__}")
                    continue
                for key in entry:
                    if key not in allowed:
                        self.problem(f"{where}.{key}", "unknown field")
                watcher = self._argo_entry(kind, entry, where)
                if watcher is not None:
                    watchers.append(watcher)
        return watchers

    def _argo_entry(self, kind: str, entry: Mapping[str, Any], where: str) -> Watcher | None:
        name = str(entry.get("name") or "").strip()
        namespace = str(entry.get("namespace") or self.namespace).strip()
        if not name:
            self.problem(f"{where}.name", "is required")
            return None
        host = f"{name}-svc.{namespace}.svc.cluster.local"
        if kind == "sensors":
            return Watcher(f"http://{host}:{self.sensor_port}/", "binary", name)
        port, endpoint = str(entry.get("port") or "").strip(), str(entry.get("endpoint") or "/")
        if not port.isdigit() or not 0 < int(port) < 65536:
            self.problem(f"{where}.port", "is required" if not port else f"{port!r} is not a port")
            return None
        endpoint = endpoint if endpoint.startswith("/") else f"/{endpoint}"
        return Watcher(f"http://{host}:{port}{endpoint}", "binary", name)


_GATEWAY_FIELDS = ("name", "namespace", "port", "endpoint")
