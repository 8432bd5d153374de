"""Source config schemas for every kind, and parsing of one registry entry.

``SCHEMAS`` is the core's table of kinds: adding a kind is one schema module and one line here
(plus its runtime entry point in pyproject.toml).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, Self

import yaml

from gateways import yamltext
from gateways.config.amqp import AMQPConfig
from gateways.config.artifact import ArtifactConfig
from gateways.config.calendar import CalendarConfig
from gateways.config.fields import Fields, Problems
from gateways.config.kafka import KafkaConfig
from gateways.config.mqtt import MQTTConfig
from gateways.config.nats import NATSConfig
from gateways.config.resource import ResourceConfig
from gateways.config.webhook import WebhookConfig
from gateways.errors import ConfigError


class SourceConfig(Protocol):
    """What every schema class offers: its kind name and a parser over Fields."""

    kind: str

    @classmethod
    def parse(cls, fields: Fields) -> Self: ...


SCHEMAS: dict[str, type[Any]] = {
    schema.kind: schema
    for schema in (
        CalendarConfig,
        WebhookConfig,
        ResourceConfig,
        ArtifactConfig,
        NATSConfig,
        MQTTConfig,
        AMQPConfig,
        KafkaConfig,
    )
}


def parse_source(kind: str, name: str, value: str | Mapping[str, Any] | None) -> Any:
    """Parse one registry entry (its YAML text or mapping) into the kind's config object.

    Raises ConfigError listing every problem, each as ``kind/name: field: message``.
    """
    problems = Problems(f"{kind}/{name}")
    schema = SCHEMAS.get(kind)
    if schema is None:
        problems.add("", f"unknown gateway type {kind!r} (known: {', '.join(sorted(SCHEMAS))})")
        raise ConfigError(problems.items)  # not raise_if_any(): mypy must see that schema is set
    raw: Any = value
    if isinstance(value, str):
        try:
            raw = yamltext.load(value)
        except yaml.YAMLError as exc:
            problems.add("", f"not valid YAML: {_yaml_problem(exc)}")
            problems.raise_if_any()
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        problems.add("", f"expected a mapping of fields, got {type(raw).__name__}")
        problems.raise_if_any()
    fields = Fields(raw, problems)
    config = schema.parse(fields)
    fields.finish()
    problems.raise_if_any()
    return config


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    return f"{problem} at line {mark.line + 1}" if mark is not None else problem


__all__ = ["SCHEMAS", "ConfigError", "Fields", "Problems", "SourceConfig", "parse_source"]
