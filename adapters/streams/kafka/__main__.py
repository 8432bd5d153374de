"""The KAFKA adapter: `python -m adapters.streams.kafka` (settings from the environment)."""

from gateways.adapter import run_adapter

run_adapter("kafka")
