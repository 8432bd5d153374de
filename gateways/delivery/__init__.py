"""Delivery to watchers: the Knative delivery spec, watcher lists, and the deliverer."""

from gateways.delivery.report import DeliveryReport, WatcherOutcome
from gateways.delivery.sender import Deliverer
from gateways.delivery.spec import DeliverySpec, parse_iso8601_duration
from gateways.delivery.watchers import (
    CONSOLE_WATCHER,
    Watcher,
    parse_watchers,
    watchers_from_env,
)

__all__ = [
    "CONSOLE_WATCHER",
    "Deliverer",
    "DeliveryReport",
    "DeliverySpec",
    "Watcher",
    "WatcherOutcome",
    "parse_iso8601_duration",
    "parse_watchers",
    "watchers_from_env",
]
