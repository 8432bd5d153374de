"""The package's exceptions. Every error raised on purpose derives from GatewayError."""

from __future__ import annotations

from collections.abc import Iterable


class GatewayError(Exception):
    """Root of every error this package raises on purpose."""


class ConfigError(GatewayError):
    """One or more problems in a configuration, each naming the source and the field.

    ``problems`` holds lines such as ``webhook/example: method: 'FETCH' is not an HTTP method``;
    the message joins them, so one exception reports everything wrong at once.
    """

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        super().__init__("; ".join(self.problems) or "invalid configuration")


class SettingsError(GatewayError):
    """An environment variable or command-line option holds a value that cannot be used."""

    def __init__(self, variable: str, problem: str) -> None:
        self.variable = variable
        self.problem = problem
        super().__init__(f"{variable}: {problem}")


class DeliveryError(GatewayError):
    """An event could not be delivered to a watcher and was not dead-lettered."""

    def __init__(self, event_id: str, failures: Iterable[str]) -> None:
        self.event_id = event_id
        self.failures: tuple[str, ...] = tuple(failures)
        super().__init__(f"event {event_id!r} not delivered: " + "; ".join(self.failures))


class EventFormatError(GatewayError):
    """An incoming message claims to be a CloudEvent but is not a valid one."""
