"""The GCP Pub/Sub adapter: `python -m adapters.gcp_pubsub` (settings from the environment)."""

from gateways.adapter import run_adapter

run_adapter("gcp-pubsub")
