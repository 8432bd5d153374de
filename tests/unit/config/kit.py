"""Helpers every config test uses: parse one ``<kind>/example`` source, or list its problems."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from gateways.config import ConfigError, parse_source

T = TypeVar("T")


def parser(kind: str, schema: type[T]) -> Callable[[str], T]:
    def parse(text: str) -> T:
        config: Any = parse_source(kind, "example", text)
        assert isinstance(config, schema)
        return config

    return parse


def problem_lister(kind: str) -> Callable[[str], list[str]]:
    """Every problem found, each checked to name the source, without that ``kind/example: ``."""
    label = f"{kind}/example: "

    def problems(text: str) -> list[str]:
        with pytest.raises(ConfigError) as caught:
            parse_source(kind, "example", text)
        found = caught.value.problems
        assert all(problem.startswith(label) for problem in found), found
        return [problem.removeprefix(label) for problem in found]

    return problems
