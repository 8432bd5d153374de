"""The resource adapter: `python -m adapters.resource` (settings from the environment)."""

from gateways.adapter import run_adapter

run_adapter("resource")
