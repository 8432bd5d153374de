"""Fixtures of the adapter tests: they drive NATS sources, so NATS's ``client`` is theirs too."""

from __future__ import annotations

from tests.kinds.nats.conftest import client

__all__ = ["client"]
