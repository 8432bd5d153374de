"""Helpers for scripts/services: start the real servers the integration tests talk to."""
