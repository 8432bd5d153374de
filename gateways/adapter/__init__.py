"""The adapter runtime: an event-source server and the gateway client that drives it.

``run_adapter("nats")`` is the whole of an adapter's entry point. See
:mod:`gateways.adapter.runtime` for what runs, :mod:`gateways.adapter.settings` for the
environment it reads, and the README's event-source protocol section for the protocol
between the halves.
"""

from gateways.adapter.runtime import AdapterRuntime, run_adapter
from gateways.adapter.settings import AdapterSettings

__all__ = ["AdapterRuntime", "AdapterSettings", "run_adapter"]
