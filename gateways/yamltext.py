"""Bounded, safe YAML: the one way registry files, ConfigMaps and source configs are read.

Before anything is built, one pass over the parser's events (iterative, so any depth is safe)
checks the limits: the text's size, the nesting depth, and the number of nodes *after* alias
expansion (a "billion laughs" alias bomb is refused in time linear in its text, not its
expansion); and rejects a mapping that repeats a key, naming both lines. Only then are the
documents built, with libyaml's C loader when PyYAML has it, and only plain data types
(safe loading). Every refusal is a :class:`YAMLLimitError` whose text says where.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class Limits:
    max_chars: int
    max_depth: int = 64
    max_nodes: int = 100_000


# A Kubernetes object is at most about 1.5 MiB; a registry file may hold many ConfigMaps.
FILE = Limits(max_chars=16 << 20, max_depth=64, max_nodes=2_000_000)
# One source's config, or one annotation (a ConfigMap's whole data is at most 1 MiB).
VALUE = Limits(max_chars=1 << 20, max_depth=32, max_nodes=100_000)


class YAMLLimitError(yaml.YAMLError):
    """A document refused before it was built; ``problem`` and ``problem_mark`` as PyYAML's."""

    def __init__(self, problem: str, line: int | None = None, document: int = 0) -> None:
        self.problem = problem
        self.line = line  # 1-based
        self.document = document  # 1-based within the stream; 0 when unknown
        where = f" at line {line}" if line is not None else ""
        super().__init__(f"{problem}{where}")

    def __str__(self) -> str:
        where = f" at line {self.line}" if self.line is not None else ""
        return f"{self.problem}{where}"


def load(text: str, limits: Limits = VALUE) -> Any:
    """One YAML document (or None for an empty text), checked against ``limits``."""
    _check(text, limits)
    return _build(lambda: yaml.load(text, Loader=SafeLoader))  # noqa: S506 (a safe loader)


def load_all(text: str, limits: Limits = FILE) -> list[Any]:
    """Every document of a YAML stream, checked against ``limits`` first."""
    _check(text, limits)
    return list(_build(lambda: list(yaml.load_all(text, Loader=SafeLoader))))


def _build(construct: Callable[[], Any]) -> Any:
    try:
        return construct()
    except yaml.YAMLError:
        raise
    except Exception as exc:  # a tagged value the constructor cannot build (!!int 'x', ...)
        text = str(exc) or type(exc).__name__
        text = text if len(text) <= 120 else f"{text[:120]}..."
        raise YAMLLimitError(f"a value cannot be read: {text}") from None


def describe(exc: yaml.YAMLError) -> str:
    """A YAML error in one line, with its line number."""
    mark = getattr(exc, "problem_mark", None)
    if mark is None:  # ours (YAMLLimitError) say their line themselves
        return str(exc)
    problem = getattr(exc, "problem", None) or str(exc)
    return f"{problem} at line {mark.line + 1}"


def decode(data: bytes) -> str:
    """UTF-8 text; a YAMLLimitError naming the line of the first byte that is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise YAMLLimitError(
            f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})", line
        ) from None


@dataclass
class _Frame:
    """A collection being read: its anchor, nodes so far, and for a mapping its keys."""

    anchor: str | None
    mapping: bool
    size: int = 1
    expect_key: bool = True
    keys: dict[Any, int] | None = None


def _check(text: str, limits: Limits) -> None:
    if len(text) > limits.max_chars:
        raise YAMLLimitError(f"too large: {len(text):,} characters (at most {limits.max_chars:,})")
    anchors: dict[str, int] = {}  # anchor -> nodes it expands to
    stack: list[_Frame] = []
    total = 0
    document = 0
    for event in yaml.parse(text, Loader=SafeLoader):
        line = event.start_mark.line + 1 if event.start_mark is not None else None
        if isinstance(event, yaml.DocumentStartEvent):
            document += 1
            continue
        if isinstance(event, yaml.CollectionStartEvent):
            if stack:
                _key_or_value(stack[-1], None, line, document)
            stack.append(
                _Frame(
                    event.anchor,
                    isinstance(event, yaml.MappingStartEvent),
                    keys={} if isinstance(event, yaml.MappingStartEvent) else None,
                )
            )
            if len(stack) > limits.max_depth:
                raise YAMLLimitError(
                    f"nested too deep (more than {limits.max_depth} levels)", line, document
                )
            continue
        if isinstance(event, yaml.CollectionEndEvent):
            frame = stack.pop()
            size = frame.size
        elif isinstance(event, yaml.ScalarEvent):
            size = 1
            if stack:
                _key_or_value(stack[-1], event, line, document)
            if event.anchor:
                anchors[event.anchor] = 1
            _add(stack, size, limits, line, document, total)
            total += size
            continue
        elif isinstance(event, yaml.AliasEvent):
            if stack:
                _key_or_value(stack[-1], None, line, document)
            size = anchors.get(event.anchor or "", 1)
        else:
            continue
        if isinstance(event, yaml.CollectionEndEvent) and frame.anchor:
            anchors[frame.anchor] = size
        _add(stack, size, limits, line, document, total)
        total += size if not isinstance(event, yaml.CollectionEndEvent) else 1


def _add(
    stack: list[_Frame], size: int, limits: Limits, line: int | None, document: int, total: int
) -> None:
    if stack:
        stack[-1].size += size
    if total + size > limits.max_nodes or (stack and stack[-1].size > limits.max_nodes):
        raise YAMLLimitError(
            f"too many nodes once aliases are expanded (more than {limits.max_nodes:,})",
            line,
            document,
        )


def _key_or_value(frame: _Frame, key: yaml.ScalarEvent | None, line: int | None, doc: int) -> None:
    """Track keys of a mapping; a scalar key seen before is refused."""
    if not frame.mapping:
        return
    if frame.expect_key and key is not None and frame.keys is not None:
        name = key.value
        if name in frame.keys:
            raise YAMLLimitError(
                f"duplicate key {name!r} (first at line {frame.keys[name]})", line, doc
            )
        frame.keys[name] = line or 0
    frame.expect_key = not frame.expect_key
