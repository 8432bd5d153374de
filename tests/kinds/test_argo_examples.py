"""The seed era's example ConfigMaps (Argo Events v0.10) load as they are: existing configs work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml

from gateways.config import parse_source
from gateways.kinds import kinds
from tests.kit import REFERENCE_DATA

EXAMPLES = REFERENCE_DATA / "argo-events-v0.10-examples"
CORE_KINDS = ("calendar", "webhook", "resource", "artifact", "nats", "mqtt", "amqp", "kafka")
# The community kinds: the HTTP family and the pull family.
COMMUNITY_KINDS = (
    "github",
    "gitlab",
    "slack",
    "aws-sns",
    "storage-grid",
    "file",
    "aws-sqs",
    "gcp-pubsub",
    "hdfs",
)


def _entries(kind: str) -> list[tuple[str, str]]:
    with (EXAMPLES / f"{kind}.yaml").open(encoding="utf-8") as handle:
        documents = [doc for doc in yaml.safe_load_all(handle) if doc]
    entries = []
    for document in documents:
        assert document["kind"] == "ConfigMap"
        entries += list(document["data"].items())
    return entries


def _parsed(kind: str) -> dict[str, Any]:
    return {name: parse_source(kind, name, value) for name, value in _entries(kind)}


CASES = [
    (kind, name, value) for kind in CORE_KINDS + COMMUNITY_KINDS for name, value in _entries(kind)
]


def test_every_core_kind_has_examples_and_a_schema() -> None:
    assert set(CORE_KINDS + COMMUNITY_KINDS) <= set(kinds())
    for kind in CORE_KINDS:
        assert _entries(kind), kind


@pytest.mark.parametrize(("kind", "name", "value"), CASES, ids=[f"{k}/{n}" for k, n, _ in CASES])
def test_example_parses_without_problems(kind: str, name: str, value: str) -> None:
    config = parse_source(kind, name, value)
    assert isinstance(config, kinds()[kind].config)


def test_webhook_values() -> None:
    configs = _parsed("webhook")
    assert configs["example"].port == 12000
    assert configs["example"].endpoint == "/example"
    assert configs["example"].methods == {"POST"}
    assert configs["example-secure"].tls
    assert configs["example-3"].methods == {"PUT"}


def test_calendar_values() -> None:
    configs = _parsed("calendar")
    assert configs["example-with-interval"].interval == timedelta(seconds=10)
    assert configs["example-with-schedule"].schedule == "30 * * * *"
    assert configs["schedule-with-static-user-payload"].user_payload == {"hello": "world"}
    assert configs["schedule-in-specific-timezone"].timezone == "America/New_York"
    assert len(configs["schedule-with-exclusion-dates"].exclusion_dates) == 2


def test_resource_values() -> None:
    configs = _parsed("resource")
    example = configs["example"]
    assert (example.group, example.version, example.resource_kind) == (
        "argoproj.io",
        "v1alpha1",
        "Workflow",
    )
    assert example.event_types == {"ADD"}  # seed-era ADDED
    assert example.filter.labels[0].matches({"workflows.argoproj.io/phase": "Succeeded"})
    assert configs["example-with-prefix-filter"].event_types == {"UPDATE"}  # MODIFIED
    assert configs["example-with-annotations-filter"].event_types == {"DELETE"}  # DELETED
    assert configs["example-with-all-types-and-no-filter"].event_types == {
        "ADD",
        "UPDATE",
        "DELETE",
    }
    assert configs["example-with-all-types-and-no-filter"].api_version == "v1"
    assert configs["example-with-created-by-filter"].filter.created_by == datetime(
        2019, 4, 6, 12, 52, 11, tzinfo=UTC
    )
    assert configs["example-without-namespace"].all_namespaces


def test_artifact_values() -> None:
    example = _parsed("artifact")["example-1"]
    assert (example.host, example.port, example.bucket) == (
        "minio-service.argo-events",
        9000,
        "input",
    )
    assert example.events == ("s3:ObjectCreated:Put", "s3:ObjectRemoved:Delete")
    assert (example.prefix, example.suffix) == ("hello-", ".txt")
    assert example.insecure and not example.secure
    assert (example.access_key.name, example.access_key.key) == ("artifacts-minio", "accesskey")


def test_nats_values() -> None:
    configs = _parsed("nats")
    retry = configs["example-with-retry"].backoff
    assert retry.duration == timedelta(seconds=10)  # 10000000000 nanoseconds
    assert (retry.steps, retry.factor) == (5, 2.0)
    assert [retry.delay(n, jitter=False) for n in range(3)] == [10.0, 20.0, 40.0]
    assert configs["example-without-retry"].backoff.duration == timedelta(seconds=1)
    assert not configs["example-without-retry"].jetstream


def test_mqtt_values() -> None:
    configs = _parsed("mqtt")
    assert configs["example-without-retry"].client_id == "1234"  # a YAML number in the seed
    assert configs["example-with-retry"].client_id == "2345"
    assert (configs["example-with-retry"].host, configs["example-with-retry"].port) == (
        "mqtt.argo-events",
        1883,
    )
    assert configs["example-with-retry"].backoff.duration == timedelta(seconds=10)


def test_amqp_values() -> None:
    example = _parsed("amqp")["example-with-retry"]
    assert (example.exchange_name, example.exchange_type) == ("name of the exchange", "fanout")
    assert example.routing_key == "routing key"
    assert example.backoff.steps == 5


def test_kafka_values() -> None:
    configs = _parsed("kafka")
    assert configs["example-without-retry"].partition == 0  # "0" in the seed
    assert configs["example-with-retry"].all_topics == ("topic-2",)
    assert configs["example-with-retry"].partition == 1
    assert configs["example-with-retry"].brokers == ["kafka.argo-events:9092"]
