"""The project's entry-point groups, installed or not.

An installed project (pip install) has them in its metadata. An OpenFaaS python3-http image
copies the source tree instead of installing it; there the same table is read from the
copied ``pyproject.toml`` beside the ``gateways`` package, so both find the same kinds.
"""

from __future__ import annotations

import tomllib
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def group(name: str) -> dict[str, EntryPoint]:
    points = {point.name: point for point in entry_points(group=name)}
    if points or not PYPROJECT.is_file():
        return points
    declared = tomllib.loads(PYPROJECT.read_text())["project"].get("entry-points", {})
    return {key: EntryPoint(key, value, name) for key, value in declared.get(name, {}).items()}
