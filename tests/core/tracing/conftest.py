"""The tracing tests drive a NATS source through the adapter, so NATS's ``client`` is theirs."""

from __future__ import annotations

from tests.kinds.nats.conftest import client

__all__ = ["client"]
