"""The MQTT adapter: `python -m adapters.streams.mqtt` (settings from the environment)."""

from gateways.adapter import run_adapter

run_adapter("mqtt")
