"""The HDFS adapter: `python -m adapters.hdfs` (settings from the environment)."""

from gateways.adapter import run_adapter

run_adapter("hdfs")
