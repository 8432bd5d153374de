"""Run the adapter of any kind: ``python -m gateways.adapter KIND`` (a custom one included)."""

import sys

from gateways.adapter import run_adapter

if len(sys.argv) != 2:
    sys.exit("usage: python -m gateways.adapter KIND   (settings from the environment)")
run_adapter(sys.argv[1])
