"""The shipped examples load and validate, so they cannot rot."""

from __future__ import annotations

import pytest

from gateways.config import parse_source
from gateways.registry.file import load_file
from tests.kit import ROOT

EXAMPLES = ROOT / "examples"


@pytest.mark.parametrize("name", ["resource.yaml", "artifact.yaml"])
def test_example_validates(name: str) -> None:
    gateways, problems = load_file(EXAMPLES / name)
    assert problems == []
    (gateway,) = gateways
    assert gateway.kind == name.removesuffix(".yaml")
    assert gateway.watchers is not None and "console" in gateway.watchers
    for entry in gateway.entries.values():
        parse_source(entry.kind, entry.name, entry.value)  # raises ConfigError naming the field
