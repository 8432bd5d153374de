"""The file adapter: `python -m adapters.file` (settings from the environment)."""

from gateways.adapter import run_adapter

run_adapter("file")
