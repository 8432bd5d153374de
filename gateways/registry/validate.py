"""What ``gateways validate`` checks, and ``gateways up`` then applies: every ConfigMap's
shape, its watchers and delivery annotations, and every source's config by its kind's schema.

Each problem names the file, the document, the ConfigMap, the source and the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gateways.config import parse_source
from gateways.dispatch import delivery_settings
from gateways.errors import ConfigError
from gateways.registry.file import load_file
from gateways.registry.model import Gateway


@dataclass(frozen=True, slots=True)
class Checked:
    gateways: list[Gateway]
    sources: int
    problems: list[str]


def check_file(path: Path, default_kind: str | None = None) -> Checked:
    gateways, problems = load_file(path, default_kind)
    sources = 0
    for gateway in gateways:
        try:
            delivery_settings(gateway)
        except ConfigError as exc:
            problems.extend(f"{gateway.where}{problem}" for problem in exc.problems)
        for entry in gateway.entries.values():
            sources += 1
            try:
                parse_source(entry.kind, entry.name, entry.value)
            except ConfigError as exc:
                where = f"{gateway.where}configmap/{gateway.name}: "
                problems.extend(f"{where}{problem}" for problem in exc.problems)
    return Checked(gateways, sources, problems)
