"""The AMQP adapter: `python -m adapters.streams.amqp` (settings from the environment)."""

from gateways.adapter import run_adapter

run_adapter("amqp")
