"""Config machinery shared by every kind, and parsing of one registry entry.

Each kind owns its schema (``<kind package>/config.py``); the table of schemas is the table of
kinds (:mod:`gateways.kinds`), read from the entry points, so the core imports no kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from gateways import yamltext
from gateways.config.fields import Fields, Problems
from gateways.errors import ConfigError


def parse_source(kind: str, name: str, value: str | Mapping[str, Any] | None) -> Any:
    """Parse one registry entry (its YAML text or mapping) into the kind's config object.

    Raises ConfigError listing every problem, each as ``kind/name: field: message``.
    """
    from gateways.kinds import kinds  # the kinds table imports this package's field types

    problems = Problems(f"{kind}/{name}")
    table = kinds()
    try:
        declared = table[kind]
    except KeyError:
        known = ", ".join(sorted(table))
        problems.add("", f"unknown gateway type {kind!r} (known: {known})")
        raise ConfigError(problems.items) from None
    raw: Any = value
    if isinstance(value, str):
        try:
            raw = yamltext.load(value)
        except yaml.YAMLError as exc:
            problems.add("", f"not valid YAML: {yamltext.describe(exc)}")
            problems.raise_if_any()
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        problems.add("", f"expected a mapping of fields, got {type(raw).__name__}")
        problems.raise_if_any()
    fields = Fields(raw, problems)
    config = declared.parse(fields)
    fields.finish()
    problems.raise_if_any()
    return config


__all__ = ["ConfigError", "Fields", "Problems", "parse_source"]
