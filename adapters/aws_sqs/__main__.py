"""The AWS SQS adapter: `python -m adapters.aws_sqs` (settings from the environment)."""

from gateways.adapter import run_adapter

run_adapter("aws-sqs")
