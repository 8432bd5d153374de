"""Typed, problem-collecting readers for one source's YAML config.

A schema reads every field through :class:`Fields`; each bad value adds a problem naming the
field instead of raising, so one pass reports everything wrong with a source at once::

    problems = Problems("webhook/example")
    fields = Fields(raw, problems)
    method = fields.choice("method", HTTP_METHODS, default="POST")
    fields.finish()           # flags unknown fields
    problems.raise_if_any()   # ConfigError listing every problem
"""

from __future__ import annotations

import builtins
import math
import re
from collections.abc import Collection, Mapping
from datetime import timedelta
from typing import Any

from gateways.errors import ConfigError

_GO_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_GO_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}


# The longest duration any field takes; longer ones are a typo (and overflow timedelta).
MAX_DURATION = timedelta(days=36_500)
# The longest text a field takes unless its schema says otherwise.
MAX_TEXT = 65_536


class Problems:
    """Collects problems for one source; ``label`` is ``kind/name``."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.items: list[str] = []

    def add(self, field: str, message: str) -> None:
        self.items.append(
            f"{self.label}: {field}: {message}" if field else f"{self.label}: {message}"
        )

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise ConfigError(self.items)


def parse_duration(value: Any) -> timedelta:
    """A Go-style duration ("10s", "1h30m", "250ms"), or a bare number of seconds.

    Raises ValueError with a readable message.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, int | float):
        try:
            return _bounded(float(value), value)
        except OverflowError:  # an integer too large for a float
            digits = len(str(abs(value))) if abs(value) < 10**4000 else "thousands of"
            raise ValueError(f"an integer of {digits} digits is not a duration") from None
    text = str(value).strip()
    if not text:
        raise ValueError("empty duration")
    if len(text) > 64:
        raise ValueError(f"{text[:20]!r}... is not a duration (too long)")
    try:
        return _bounded(float(text), text)
    except ValueError as exc:
        if "at most" in str(exc) or "finite" in str(exc):
            raise
    sign = -1.0 if text.startswith("-") else 1.0
    body = text.lstrip("+-")
    position, seconds = 0, 0.0
    for match in _GO_DURATION.finditer(body):
        if match.start() != position:
            break
        seconds += float(match.group(1)) * _GO_UNITS[match.group(2)]
        position = match.end()
    if position != len(body) or position == 0:
        raise ValueError(f"{text!r} is not a duration such as '10s', '1m30s' or '250ms'")
    return _bounded(sign * seconds, text)


def _bounded(seconds: float, shown: Any) -> timedelta:
    if not math.isfinite(seconds):
        raise ValueError(f"{shown!r} is not a finite duration")
    if abs(seconds) > MAX_DURATION.total_seconds():
        raise ValueError(f"{shown!r} is longer than the most allowed, {MAX_DURATION.days} days")
    return timedelta(seconds=seconds)


class Fields:
    """Reads fields of one mapping; every problem goes to ``problems`` with its dotted path."""

    def __init__(self, raw: Mapping[str, Any], problems: Problems, prefix: str = "") -> None:
        self.raw = raw
        self.problems = problems
        self.prefix = prefix
        self._seen: set[str] = set()

    def path(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def problem(self, name: str, message: str) -> None:
        self.problems.add(self.path(name), message)

    def has(self, name: str) -> bool:
        self._seen.add(name)
        return self.raw.get(name) is not None

    def get(self, name: str) -> Any:
        self._seen.add(name)
        return self.raw.get(name)

    def str(
        self,
        name: builtins.str,
        default: builtins.str | None = None,
        *,
        required: builtins.bool = False,
        max_length: builtins.int = MAX_TEXT,
    ) -> builtins.str | None:
        value = self.get(name)
        if value is None:
            if required:
                self.problem(name, "is required")
            return default
        if isinstance(value, Mapping | list):
            self.problem(name, f"expected a string, got {type(value).__name__}")
            return default
        # Seed-era configs hold some strings as YAML numbers (``clientId: 1234``, ``port: 12000``).
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        if required and not text.strip():
            self.problem(name, "must not be empty")
        if len(text) > max_length:
            self.problem(name, f"too long: {len(text):,} characters (at most {max_length:,})")
            return default
        return text

    def required_str(self, name: builtins.str) -> builtins.str:
        return self.str(name, required=True) or ""

    def int(
        self,
        name: builtins.str,
        default: builtins.int | None = None,
        *,
        minimum: builtins.int | None = None,
        maximum: builtins.int | None = None,
        required: builtins.bool = False,
    ) -> builtins.int | None:
        value = self.get(name)
        if value is None:
            if required:
                self.problem(name, "is required")
            return default
        if isinstance(value, bool):
            self.problem(name, f"expected an integer, got {value!r}")
            return default
        text = str(value).strip()
        try:
            if isinstance(value, float) or len(text) > 32:
                raise ValueError
            number = int(text)
        except ValueError:
            shown = value if len(text) <= 32 else f"{text[:20]}..."
            self.problem(name, f"{shown!r} is not an integer")
            return default
        if minimum is not None and number < minimum:
            self.problem(name, f"{number} is less than {minimum}")
        if maximum is not None and number > maximum:
            self.problem(name, f"{number} is more than {maximum}")
        return number

    def float(
        self,
        name: builtins.str,
        default: builtins.float | None = None,
        *,
        minimum: builtins.float | None = None,
    ) -> builtins.float | None:
        value = self.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            self.problem(name, f"expected a number, got {value!r}")
            return default
        try:
            number = float(str(value).strip())
        except (ValueError, OverflowError):
            self.problem(name, f"{value!r} is not a number")
            return default
        if not math.isfinite(number):
            self.problem(name, f"{value!r} is not a finite number")
            return default
        if minimum is not None and number < minimum:
            self.problem(name, f"{number} is less than {minimum}")
        return number

    def bool(self, name: builtins.str, default: builtins.bool = False) -> builtins.bool:
        value = self.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "yes", "1", "on"):
            return True
        if text in ("false", "no", "0", "off"):
            return False
        self.problem(name, f"{value!r} is not true or false")
        return default

    def choice(
        self,
        name: builtins.str,
        choices: Collection[builtins.str],
        default: builtins.str | None = None,
        *,
        upper: builtins.bool = False,
    ) -> builtins.str | None:
        text = self.str(name)
        if text is None:
            return default
        normalised = text.upper() if upper else text
        if normalised not in choices:
            self.problem(name, f"{text!r} is not one of {', '.join(sorted(choices))}")
            return default
        return normalised

    def duration(self, name: builtins.str, default: timedelta | None = None) -> timedelta | None:
        value = self.get(name)
        if value is None:
            return default
        try:
            return parse_duration(value)
        except ValueError as exc:
            self.problem(name, str(exc))
            return default

    def str_list(self, name: builtins.str) -> list[builtins.str]:
        value = self.get(name)
        if value is None:
            return []
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list) or any(isinstance(v, Mapping | list) for v in value):
            self.problem(name, "expected a list of strings")
            return []
        return [str(v) for v in value]

    def sub(self, name: builtins.str) -> Fields | None:
        """The nested mapping ``name`` as Fields, or None when absent (a problem if not a map)."""
        value = self.get(name)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            self.problem(name, f"expected a mapping, got {type(value).__name__}")
            return None
        return Fields(value, self.problems, prefix=f"{self.path(name)}.")

    def finish(self, *, ignore: Collection[builtins.str] = ()) -> None:
        """Report fields that no reader asked for: a typo must not pass silently."""
        for key in self.raw:
            if key not in self._seen and key not in ignore:
                self.problem(str(key), "unknown field")
