"""Event gateways: event sources in, CloudEvents out, delivered to watchers at least once."""

__version__ = "0.1.0"
