"""The artifact adapter: `python -m adapters.artifact` (settings from the environment)."""

from gateways.adapter import run_adapter

run_adapter("artifact")
