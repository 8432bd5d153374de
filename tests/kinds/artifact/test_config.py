"""Artifact config: MinIO endpoint, bucket, credentials, S3 event names, key filter."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.artifact.config import ArtifactConfig
from gateways.config import ConfigError, parse_source
from gateways.config.common import Backoff, SecretRef
from tests.kit import parser, problem_lister

CREDENTIALS = """
accessKey: {name: minio, key: accesskey}
secretKey: {name: minio, key: secretkey}
"""


parse = parser("artifact", ArtifactConfig)
problems = problem_lister("artifact")


def test_good_config() -> None:
    config = parse(
        CREDENTIALS
        + """
endpoint: minio.example.com:443
bucket: {name: uploads}
region: eu-west-1
events:
  - s3:ObjectCreated:*
  - s3:ObjectRemoved:DeleteMarkerCreated
  - s3:BucketCreated
  - s3:ObjectCreated:*
filter: {prefix: in/, suffix: .csv}
backoff: {duration: 2s, steps: 3}
tls: {caCertPath: /etc/minio/ca.crt}
"""
    )
    assert (config.host, config.port, config.secure) == ("minio.example.com", 443, True)
    assert config.bucket == "uploads" and config.region == "eu-west-1"
    assert config.events == (
        "s3:ObjectCreated:*",
        "s3:ObjectRemoved:DeleteMarkerCreated",
        "s3:BucketCreated",
    )
    assert (config.prefix, config.suffix) == ("in/", ".csv")
    assert config.access_key == SecretRef(name="minio", key="accesskey")
    assert config.backoff == Backoff(duration=timedelta(seconds=2), steps=3)
    assert config.tls is not None and config.tls.ca_cert_path == "/etc/minio/ca.crt"


def test_defaults() -> None:
    config = parse(
        CREDENTIALS + "endpoint: minio:9000\nbucket: {name: input}\nevents: [s3:ObjectCreated:Put]"
    )
    assert config.backoff == Backoff()  # a safe default when omitted
    assert config.backoff.delay(0, jitter=False) == 1.0
    assert not config.insecure and config.tls is None and config.region is None
    assert (config.prefix, config.suffix) == ("", "")
    assert config.reconcile  # the listen path closes its gaps unless told not to


def test_reconcile_can_be_turned_off() -> None:
    base = (
        CREDENTIALS + "endpoint: minio:9000\nbucket: {name: input}\nevents: [s3:ObjectCreated:Put]"
    )
    assert not parse(base + "\nreconcile: false").reconcile
    assert problems(base + "\nreconcile: sometimes") == [
        "reconcile: 'sometimes' is not true or false"
    ]


def test_every_problem_is_reported_at_once() -> None:
    found = problems(
        """
        endpoint: http://minio:9000
        bucket: {name: My_Bucket, key: x}
        insecure: maybe
        accessKey: {name: minio}
        events: [s3:ObjectCreated:Put, ObjectRemoved, "s3:objectcreated:put"]
        filter: {prefix: a, regex: ".*"}
        tls: {clientCertPath: /c}
        backoff: {duration: 0}
        notify: true
        """
    )
    assert found == [
        "endpoint: 'http://minio:9000' must be host:port, without a scheme",
        "bucket.name: 'My_Bucket' is not a bucket name (3-63 of a-z, 0-9, '.', '-')",
        "bucket.key: unknown field",
        "insecure: 'maybe' is not true or false",
        "accessKey: needs {name, key}, {env} or {file}",
        "secretKey: is required (a secret reference {name, key})",
        "events[1]: 'ObjectRemoved' is not an S3 event name such as 's3:ObjectCreated:Put'",
        "events[2]: 's3:objectcreated:put' is not an S3 event name such as 's3:ObjectCreated:Put'",
        "filter.regex: unknown field",
        "backoff.duration: must be positive",
        "tls: clientCertPath and clientKeyPath go together",
        "notify: unknown field",
    ]


def test_required_fields() -> None:
    assert problems("insecure: true") == [
        "endpoint: is required",
        "bucket: is required ({name: ...})",
        "accessKey: is required (a secret reference {name, key})",
        "secretKey: is required (a secret reference {name, key})",
        "events: is required: a list of S3 event names such as 's3:ObjectCreated:*'",
    ]


def test_tls_and_insecure_conflict() -> None:
    found = problems(
        CREDENTIALS
        + "endpoint: minio:9000\nbucket: {name: input}\nevents: [s3:ObjectCreated:Put]\n"
        "insecure: true\ntls: {insecureSkipVerify: true}"
    )
    assert found == ["tls: insecure: true means plain HTTP; drop one of tls or insecure"]


def test_endpoint_needs_a_port() -> None:
    found = problems(
        CREDENTIALS + "endpoint: minio\nbucket: {name: input}\nevents: [s3:ObjectCreated:Put]"
    )
    assert found == ["endpoint: 'minio' is not host:port"]


def test_problems_name_the_source_and_the_field() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_source(
            "artifact", "orders", CREDENTIALS + "endpoint: m:9000\nevents: [ObjectCreated]"
        )
    assert caught.value.problems == (
        "artifact/orders: bucket: is required ({name: ...})",
        "artifact/orders: events[0]: 'ObjectCreated' is not an S3 event name such as "
        "'s3:ObjectCreated:Put'",
    )
