"""StorageGRID config: the seed-era ``hook``, ``events`` and ``filter``; every problem at once."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from functions.storage_grid.config import StorageGridConfig
from gateways.config import parse_source
from gateways.hooks.endpoint import DEFAULT_MAX_PAYLOAD
from tests.kit import REFERENCE_DATA, ROOT, parser, problem_lister

pytestmark = pytest.mark.timeout(30)
SEED = REFERENCE_DATA / "argo-events-v0.10-examples" / "storage-grid.yaml"
parse = parser("storage-grid", StorageGridConfig)
problems = problem_lister("storage-grid")


def test_every_field() -> None:
    config = parse(
        """
        hook:
          port: "8090"
          endpoint: /storagegrid
          url: https://gateway.example.com/storagegrid
          serverCertPath: /tls/crt
          serverKeyPath: /tls/key
          maxPayloadSize: 65536
        events: ["s3:ObjectCreated:*", ObjectRemoved:Delete, "ObjectCreated:*"]
        filter: {prefix: uploads/, suffix: .jpg}
        """
    )
    hook = config.hook
    assert (hook.port, hook.endpoint, hook.methods) == (8090, "/storagegrid", {"POST"})
    assert hook.url == "https://gateway.example.com/storagegrid"
    assert hook.tls == ("/tls/crt", "/tls/key")
    assert hook.max_payload_size == 65536
    # Kept as StorageGRID's records name them (no "s3:"), each once.
    assert config.events == ("ObjectCreated:*", "ObjectRemoved:Delete")
    assert (config.prefix, config.suffix) == ("uploads/", ".jpg")


def test_defaults() -> None:
    config = parse("hook: {endpoint: /}")
    assert config.events == () and (config.prefix, config.suffix) == ("", "")
    assert config.hook.port is None and config.hook.tls is None and config.hook.url is None
    assert config.hook.max_payload_size == DEFAULT_MAX_PAYLOAD
    assert parse("hook: {endpoint: /}\nevents: []\nfilter: {}").events == ()


def test_seed_era_configmap_unchanged() -> None:
    [document] = [d for d in yaml.safe_load_all(SEED.read_text()) if d]
    configs = {
        name: parse_source("storage-grid", name, text) for name, text in document["data"].items()
    }
    plain, secure = configs["example"], configs["example-secure"]
    assert (plain.hook.port, plain.hook.endpoint, plain.events) == (
        8080,
        "/",
        ("ObjectCreated:Put",),
    )
    assert plain.hook.tls is None
    assert secure.hook.port == 8090 and secure.hook.tls == ("some path in pod", "some path in pod")
    assert secure.events == ("ObjectCreated:*", "ObjectRemoved:Delete")


def test_seed_era_configmap_validates_with_the_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gateways", "validate", "--type", "storage-grid", str(SEED)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all valid" in done.stdout


def test_the_seed_eras_own_test_config() -> None:
    # gateways/community/storagegrid/config_test.go at v0.10, but with an http URL.
    config = parse(
        """
        hook:
         endpoint: "/"
         port: "8080"
         url: "http://gateway:8080/"
        events:
            - "ObjectCreated:Put"
        filter:
            suffix: ".txt"
            prefix: "hello-"
        """
    )
    assert (config.prefix, config.suffix, config.events) == (
        "hello-",
        ".txt",
        ("ObjectCreated:Put",),
    )


def test_every_problem_is_reported_at_once() -> None:
    found = problems(
        """
        hook:
          port: 70000
          endpoint: storagegrid
          url: gateway:8080
          serverCertPath: /tls/crt
          method: GET
        events: [ObjectCreated:Put, objectcreated, "s3:*", 7]
        filter: {prefix: [a], colour: red}
        topicArn: urn:sgws:sns:::x
        """
    )
    assert found == [
        "hook.endpoint: 'storagegrid' must start with '/'",
        "hook.port: 70000 is more than 65535",
        "hook.serverKeyPath: TLS needs both serverCertPath and serverKeyPath",
        "hook.url: 'gateway:8080' is not an http or https URL",
        "hook.method: unknown field",
        "events[1]: 'objectcreated' is not an S3 event name such as 'ObjectCreated:Put' "
        "or 's3:ObjectRemoved:*'",
        "events[2]: 's3:*' is not an S3 event name such as 'ObjectCreated:Put' "
        "or 's3:ObjectRemoved:*'",
        "events[3]: '7' is not an S3 event name such as 'ObjectCreated:Put' "
        "or 's3:ObjectRemoved:*'",
        "filter.prefix: expected a string, got list",
        "filter.colour: unknown field",
        "topicArn: unknown field",
    ]


def test_hook_is_required() -> None:
    assert problems("events: [ObjectCreated:Put]") == ["hook: is required (endpoint, port, url)"]
    assert problems("hook: {port: 8080}") == ["hook.endpoint: is required"]
    assert problems("hook: /") == [
        "hook: expected a mapping, got str",
        "hook: is required (endpoint, port, url)",
    ]


def test_events_not_a_list() -> None:
    assert problems("hook: {endpoint: /}\nevents: {a: b}") == ["events: expected a list of strings"]


@pytest.mark.parametrize(
    "path", ["examples/storage-grid.yaml", "knative/sources/storage-grid.yaml"]
)
def test_shipped_configmaps_load(path: str) -> None:
    [document] = [d for d in yaml.safe_load_all((ROOT / path).read_text()) if d]
    assert document["metadata"]["labels"]["gateways.dev/type"] == "storage-grid"
    config = parse_source("storage-grid", "uploads", document["data"]["uploads"])
    assert config.hook.endpoint == "/storagegrid"
    assert config.prefix == "uploads/" and "ObjectCreated:*" in config.events
