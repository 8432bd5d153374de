"""The NATS adapter: `python -m adapters.streams.nats` (settings from the environment)."""

from gateways.adapter import run_adapter

run_adapter("nats")
