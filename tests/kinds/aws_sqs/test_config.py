"""AWS SQS config: the seed era's fields, what a queue elsewhere or a local server adds, every
problem, and the seed-era ConfigMap loading unchanged."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import yaml

from adapters.aws_sqs.config import SQSConfig
from gateways.config import parse_source
from tests.kit import REFERENCE_DATA, parser, problem_lister

parse = parser("aws-sqs", SQSConfig)
problems = problem_lister("aws-sqs")
SEED = REFERENCE_DATA / "argo-events-v0.10-examples" / "aws-sqs.yaml"


def test_every_field() -> None:
    config = parse(
        """
        accessKey: {name: aws-secret, key: accesskey}
        secretKey: {name: aws-secret, key: secretkey}
        sessionToken: {env: AWS_SESSION_TOKEN}
        region: eu-west-1
        queue: orders.fifo
        queueOwnerAccountId: "123456789012"
        waitTimeSeconds: 5
        maxMessages: 4
        visibilityTimeout: 45s
        retryAfterBackoff: false
        endpoint: http://127.0.0.1:19324
        backoff: {duration: 2s, factor: 3, jitter: 0, steps: 4}
        """
    )
    assert config.access_key is not None
    assert config.access_key.describe() == "secret aws-secret/accesskey"
    assert config.secret_key is not None and config.secret_key.key == "secretkey"
    assert config.session_token is not None and config.session_token.env == "AWS_SESSION_TOKEN"
    assert config.region == "eu-west-1"
    assert config.queue == "orders.fifo" and config.queue_url is None
    assert config.name == "orders.fifo" and config.fifo
    assert config.queue_owner_account_id == "123456789012"
    assert config.wait_time_seconds == 5 and config.max_messages == 4
    assert config.visibility_timeout == timedelta(seconds=45)
    assert config.retry_after_backoff is False
    assert config.endpoint == "http://127.0.0.1:19324"
    assert config.backoff.duration == timedelta(seconds=2) and config.backoff.steps == 4


def test_defaults_and_a_given_queue_url() -> None:
    config = parse(
        "region: us-east-1\nqueueUrl: https://sqs.us-east-1.amazonaws.com/123456789012/orders"
    )
    assert config.queue is None and config.name == "orders" and not config.fifo
    assert config.access_key is None and config.secret_key is None  # boto3's default chain
    assert config.wait_time_seconds == 20 and config.max_messages == 10
    assert config.visibility_timeout is None  # the queue's own
    assert config.retry_after_backoff is True
    assert config.endpoint is None and config.queue_owner_account_id is None


def test_every_problem_is_reported_at_once() -> None:
    found = problems(
        """
        accessKey: {name: aws-secret, key: accesskey}
        region: US East
        queue: "my queue"
        queueOwnerAccountId: "12"
        waitTimeSeconds: 21
        maxMessages: 11
        visibilityTimeout: 13h
        retryAfterBackoff: maybe
        endpoint: localhost:9324
        backoff: {factor: -1}
        extra: 1
        """
    )
    assert set(found) == {
        "secretKey: accessKey and secretKey go together (or leave both out for the default chain)",
        "region: 'US East' is not an AWS region name",
        "queue: 'my queue' is not an SQS queue name (up to 80 letters, digits, '-' and '_';"
        " '.fifo' at the end of a FIFO queue's)",
        "queueOwnerAccountId: '12' is not a 12-digit account id",
        "waitTimeSeconds: 21 is more than 20",
        "maxMessages: 11 is more than 10",
        "visibilityTimeout: must be from 1s to 12h",
        "retryAfterBackoff: 'maybe' is not true or false",
        "endpoint: 'localhost:9324' is not an http or https URL",
        "backoff.factor: -1.0 is less than 1.0",
        "extra: unknown field",
    }, found


def test_queue_region_and_credentials_problems() -> None:
    assert set(problems("waitTimeSeconds: 0")) == {
        "region: is required",
        "queue: is required (the queue's name), or give queueUrl",
        "waitTimeSeconds: 0 is less than 1",
    }
    assert set(
        problems(
            """
            region: us-east-1
            queue: orders
            queueUrl: ftp://example.com/1/orders
            secretKey: {name: aws-secret}
            sessionToken: {env: TOKEN}
            """
        )
    ) == {
        "queueUrl: give queue or queueUrl, not both",
        "queueUrl: 'ftp://example.com/1/orders' is not an http or https URL",
        "secretKey: needs {name, key}, {env} or {file}",
        "accessKey: accessKey and secretKey go together (or leave both out for the default chain)",
        "sessionToken: needs accessKey and secretKey",
    }
    assert problems("region: us-east-1\nqueueUrl: http://127.0.0.1:19324/") == [
        "queueUrl: 'http://127.0.0.1:19324/' names no queue (…/<account>/<queue name>)"
    ]
    assert problems(
        "region: us-east-1\nqueueUrl: http://h/1/q\nqueueOwnerAccountId: '123456789012'"
    ) == ["queueOwnerAccountId: goes with queue (queueUrl names it)"]
    assert problems(f"region: us-east-1\nqueue: {'q' * 81}")[0].startswith("queue: ")


def test_the_seed_era_configmap_loads_unchanged() -> None:
    documents = [d for d in yaml.safe_load_all(SEED.read_text()) if d]
    data = documents[0]["data"]
    configs = {name: parse_source("aws-sqs", name, text) for name, text in data.items()}
    assert set(configs) == {"example-1", "example-2", "example-3"}
    first = configs["example-1"]
    assert isinstance(first, SQSConfig)
    assert first.queue == "my-fake-queue-1" and first.region == "us-east-1"
    assert first.wait_time_seconds == 20
    assert first.access_key is not None
    assert first.access_key.describe() == "secret aws-secret/accesskey"
    assert first.secret_key is not None
    assert first.secret_key.describe() == "secret aws-secret/secretkey"
    second = configs["example-2"]
    assert isinstance(second, SQSConfig) and second.queue == "my-fake-queue-2"
    bare = configs["example-3"]
    assert isinstance(bare, SQSConfig) and bare.access_key is None and bare.secret_key is None


def test_gateways_validate_accepts_the_seed_file() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateways", "validate", "--type", "aws-sqs", str(SEED)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 source(s) in 1 gateway(s), all valid" in result.stdout
