"""Safe YAML loading, with libyaml's C loader when PyYAML was built with it (much faster)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load(text: str) -> Any:
    """One YAML document; only plain data types (safe loading)."""
    return yaml.load(text, Loader=SafeLoader)  # noqa: S506 (a safe loader)


def load_all(text: str) -> Iterator[Any]:
    return yaml.load_all(text, Loader=SafeLoader)
