"""CloudEvents: the event model, the one builder, and the HTTP encodings."""

from gateways.events.builder import build
from gateways.events.model import CloudEvent

__all__ = ["CloudEvent", "build"]
