"""GCP Pub/Sub config: the seed's fields, subscription, deletion, emulator endpoint, backoff."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
import yaml

from adapters.gcp_pubsub.config import PubSubConfig, resource_problem
from gateways.config import parse_source
from gateways.config.common import Backoff
from tests.kit import REFERENCE_DATA, parser, problem_lister

parse = parser("gcp-pubsub", PubSubConfig)
problems = problem_lister("gcp-pubsub")
SEED = REFERENCE_DATA / "argo-events-v0.10-examples" / "gcp-pubsub.yaml"


def test_every_field() -> None:
    config = parse(
        """
        projectID: my-project
        topicProjectID: topic-project
        topic: orders
        credentialsFile: /etc/gcp/key.json
        subscription: gateway-orders
        deleteSubscriptionOnFinish: true
        endpoint: 127.0.0.1:8085
        backoff: {duration: 500ms, factor: 1.5, jitter: 0, steps: 10, cap: 30s}
        """
    )
    assert config == PubSubConfig(
        project_id="my-project",
        topic="orders",
        topic_project_id="topic-project",
        credentials_file="/etc/gcp/key.json",
        subscription="gateway-orders",
        delete_subscription_on_finish=True,
        endpoint="127.0.0.1:8085",
        backoff=Backoff(timedelta(milliseconds=500), 1.5, 0.0, 10, timedelta(seconds=30)),
    )
    assert config.topic_project == "topic-project"


def test_defaults() -> None:
    config = parse("projectID: my-project\ntopic: orders")
    assert config.topic_project == "my-project"
    assert config.subscription is None and config.credentials_file is None
    assert config.endpoint is None and not config.delete_subscription_on_finish
    assert config.backoff == Backoff()


def test_an_existing_subscription_needs_no_topic() -> None:
    config = parse("projectID: my-project\nsubscription: existing")
    assert config.topic is None and config.subscription == "existing"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("topic: t-1", ["projectID: is required"]),
        ("projectID: p-1", ["topic: is required (or name an existing subscription)"]),
        ("projectID: ''\ntopic: abc", ["projectID: must not be empty"]),
        ("projectID: My_Project\ntopic: abc", ["projectID: 'My_Project' is not a GCP project id"]),
        (
            "projectID: p-1\ntopicProjectID: 'x y'\ntopic: abc",
            ["topicProjectID: 'x y' is not a GCP project id"],
        ),
        (
            "projectID: p-1\ntopicProjectID: other\nsubscription: abc",
            ["topicProjectID: needs topic"],
        ),
        (
            "projectID: p-1\ntopic: 'a b'",
            [
                "topic: 'a b' is not a Pub/Sub id (3-255 characters: letters, digits, "
                "- _ . ~ + %, a letter first)"
            ],
        ),
        ("projectID: p-1\ntopic: google-x", ["topic: 'google-x' must not start with 'goog'"]),
        (
            "projectID: p-1\ntopic: abc\nsubscription: 1abc",
            [
                "subscription: '1abc' is not a Pub/Sub id (3-255 characters: letters, digits, "
                "- _ . ~ + %, a letter first)"
            ],
        ),
        (
            "projectID: p-1\ntopic: abc\ndeleteSubscriptionOnFinish: maybe",
            ["deleteSubscriptionOnFinish: 'maybe' is not true or false"],
        ),
        (
            "projectID: p-1\ntopic: abc\nendpoint: localhost",
            ["endpoint: 'localhost' is not host:port"],
        ),
        (
            "projectID: p-1\ntopic: abc\ncredentialsFile: [a]",
            ["credentialsFile: expected a string, got list"],
        ),
        ("projectID: p-1\ntopic: abc\nsubscriptionID: x", ["subscriptionID: unknown field"]),
    ],
)
def test_problems_name_their_field(text: str, expected: list[str]) -> None:
    assert problems(text) == expected


def test_backoff_problems_name_the_field() -> None:
    found = problems("projectID: p-1\ntopic: abc\nbackoff: {factor: fast}")
    assert found and all(problem.startswith("backoff.factor: ") for problem in found)


def test_resource_ids() -> None:
    assert resource_problem("orders.v1_~+%-x") is None
    assert resource_problem("ab") is not None  # at least 3 characters
    assert resource_problem("a" * 256) is not None


def test_the_seed_era_configmap_validates_unchanged() -> None:
    assert SEED.exists(), SEED
    result = subprocess.run(
        [sys.executable, "-m", "gateways", "validate", "--type", "gcp-pubsub", str(SEED)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all valid" in result.stdout


def test_the_seed_era_values() -> None:
    (document,) = [doc for doc in yaml.safe_load_all(SEED.read_text()) if doc]
    config = parse_source("gcp-pubsub", "example-1", document["data"]["example-1"])
    assert config == PubSubConfig(
        project_id="my-fake-project-id", topic="my-fake-topic", credentials_file="./validate.go"
    )
    assert config.topic_project == "my-fake-project-id"
