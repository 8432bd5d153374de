"""The Knative delivery spec: how an event is retried, and where it goes when every attempt failed.

Field names and meaning follow Knative Eventing's ``DeliverySpec`` so a ``delivery:`` block
copied from a Trigger or Subscription works here::

    delivery:
      retry: 5
      backoffPolicy: exponential     # or linear
      backoffDelay: PT0.5S           # ISO-8601 duration
      timeout: PT10S                 # per attempt
      retryAfterMax: PT30S           # cap on a 429/503 Retry-After; PT0S ignores it
      deadLetterSink: http://dls.default.svc.cluster.local   # or {uri: ...}
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml

from gateways import yamltext
from gateways.errors import ConfigError
from gateways.retry import RetryPolicy

BackoffPolicy = Literal["linear", "exponential"]
BACKOFF_POLICIES: tuple[BackoffPolicy, ...] = ("exponential", "linear")
# Exponential growth overflows quickly with a generous ``retry``; no single wait exceeds this.
MAX_BACKOFF = timedelta(hours=1)

_NUMBER = r"\d+(?:[.,]\d+)?"
_ISO_DURATION = re.compile(
    rf"P(?:(?P<years>{_NUMBER})Y)?(?:(?P<months>{_NUMBER})M)?(?:(?P<weeks>{_NUMBER})W)?"
    rf"(?:(?P<days>{_NUMBER})D)?"
    rf"(?:T(?:(?P<hours>{_NUMBER})H)?(?:(?P<minutes>{_NUMBER})M)?(?:(?P<seconds>{_NUMBER})S)?)?"
)
_SECONDS_PER = {
    "weeks": 604800.0,
    "days": 86400.0,
    "hours": 3600.0,
    "minutes": 60.0,
    "seconds": 1.0,
}
_Problem = Callable[[str, str], None]
_FIELDS = ("retry", "backoffPolicy", "backoffDelay", "timeout", "retryAfterMax", "deadLetterSink")


def parse_iso8601_duration(value: Any) -> timedelta:
    """An ISO-8601 duration such as ``PT0.2S``, ``PT1M30S``, ``P1DT2H`` or ``P2W``.

    Years and months are refused: they have no fixed length. Raises ValueError whose message
    reads ``'PT' is not an ISO-8601 duration``.
    """
    text = value.strip() if isinstance(value, str) else None
    match = _ISO_DURATION.fullmatch(text) if text else None
    # "P" alone, and a "T" with no time part after it, match the pattern but mean nothing.
    if match is None or not any(match.groupdict().values()) or text is None or text.endswith("T"):
        raise ValueError(f"{value!r} is not an ISO-8601 duration")
    parts = {
        name: float(number.replace(",", "."))
        for name, number in match.groupdict().items()
        if number
    }
    if "years" in parts or "months" in parts:
        raise ValueError(f"{value!r}: years and months have no fixed length; use days (P30D)")
    return timedelta(seconds=sum(_SECONDS_PER[name] * amount for name, amount in parts.items()))


def is_http_url(text: str) -> bool:
    parts = urlsplit(text)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


@dataclass(frozen=True, slots=True)
class DeliverySpec:
    """Retries, backoff, per-attempt timeout and dead-letter sink for delivery to watchers.

    When nothing is configured: ``retry`` 3 (so up to 4 attempts), ``exponential`` backoff from
    ``PT0.2S`` (waits of 0.4 s, 0.8 s, 1.6 s), ``timeout`` ``PT10S`` per attempt, a 429/503
    ``Retry-After`` honoured up to ``PT30S``, and no dead-letter sink.
    """

    retry: int = 3
    backoff_policy: BackoffPolicy = "exponential"
    backoff_delay: timedelta = timedelta(seconds=0.2)
    timeout: timedelta = timedelta(seconds=10)
    retry_after_max: timedelta = timedelta(seconds=30)
    dead_letter_sink: str | None = None

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (1 for the first retry).

        As Knative defines it: linear waits ``backoffDelay * attempt``, exponential waits
        ``backoffDelay * 2**attempt``; never more than MAX_BACKOFF.
        """
        base = self.backoff_delay.total_seconds()
        factor = float(attempt) if self.backoff_policy == "linear" else 2.0 ** min(attempt, 64)
        return min(base * factor, MAX_BACKOFF.total_seconds())

    def retry_policy(self) -> RetryPolicy:
        """This spec as the one HTTP retry policy: ``retry`` retries, waits from ``delay``."""
        return RetryPolicy(self.retry, self.delay, self.retry_after_max.total_seconds())

    @classmethod
    def parse(cls, value: Mapping[str, Any] | str | None, label: str = "delivery") -> DeliverySpec:
        """Read a ``delivery`` mapping (or its YAML text); None or empty gives the defaults.

        Raises ConfigError listing every problem as ``<label>: <field>: <message>``.
        """
        problems: list[str] = []

        def problem(name: str, message: str) -> None:
            problems.append(f"{label}: {name}: {message}")

        raw = _load(value, label)
        defaults = cls()
        retry = _retry(raw.get("retry"), defaults.retry, problem)
        policy = raw.get("backoffPolicy", defaults.backoff_policy)
        if policy not in BACKOFF_POLICIES:
            problem("backoffPolicy", f"{policy!r} is not one of {', '.join(BACKOFF_POLICIES)}")
            policy = defaults.backoff_policy
        backoff_delay = _duration(raw, "backoffDelay", defaults.backoff_delay, problem)
        timeout = _duration(raw, "timeout", defaults.timeout, problem)
        if timeout <= timedelta(0):
            problem("timeout", "must be longer than zero")
        retry_after_max = _duration(raw, "retryAfterMax", defaults.retry_after_max, problem)
        sink = _dead_letter_sink(raw.get("deadLetterSink"), problem)
        problems.extend(f"{label}: {key}: unknown field" for key in raw if key not in _FIELDS)
        if problems:
            raise ConfigError(problems)
        return cls(retry, policy, backoff_delay, timeout, retry_after_max, sink)


def _load(value: Mapping[str, Any] | str | None, label: str) -> Mapping[str, Any]:
    raw: Any = value
    if isinstance(value, str):
        try:
            raw = yamltext.load(value)
        except yaml.YAMLError as exc:
            raise ConfigError([f"{label}: not valid YAML: {exc}"]) from None
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ConfigError([f"{label}: expected a mapping of fields, got {type(raw).__name__}"])
    return raw


def _retry(value: Any, default: int, problem: _Problem) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | str):
        problem("retry", f"{value!r} is not an integer")
        return default
    try:
        number = int(value)
    except ValueError:
        problem("retry", f"{value!r} is not an integer")
        return default
    if number < 0:
        problem("retry", f"{number} is less than 0")
        return default
    return number


def _duration(
    raw: Mapping[str, Any], name: str, default: timedelta, problem: _Problem
) -> timedelta:
    value = raw.get(name)
    if value is None:
        return default
    try:
        return parse_iso8601_duration(value)
    except ValueError as exc:
        problem(name, str(exc))
        return default


def _dead_letter_sink(value: Any, problem: _Problem) -> str | None:
    """A URL, or a Knative Destination ``{uri}``; a ``ref`` needs a cluster to resolve it."""
    if value is None:
        return None
    uri: Any = value
    if isinstance(value, Mapping):
        for key in value:
            if key not in ("uri", "ref"):
                problem(f"deadLetterSink.{key}", "unknown field")
        uri = value.get("uri")
        if uri is None:
            if value.get("ref") is not None:
                problem(
                    "deadLetterSink.ref",
                    "a Kubernetes reference cannot be resolved here; give deadLetterSink.uri",
                )
            else:
                problem("deadLetterSink", "needs a uri")
            return None
        name = "deadLetterSink.uri"
    else:
        name = "deadLetterSink"
    if not isinstance(uri, str) or not is_http_url(uri):
        problem(name, f"{uri!r} is not an absolute http or https URL")
        return None
    return uri
