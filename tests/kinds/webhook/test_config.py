"""Webhook config: endpoint, methods, port, TLS files, payload limit and auth."""

from __future__ import annotations

import pytest

from functions.webhook.config import DEFAULT_MAX_PAYLOAD, WebhookConfig
from gateways.config import ConfigError, parse_source
from tests.kit import parser, problem_lister

parse = parser("webhook", WebhookConfig)
problems = problem_lister("webhook")


def test_good_config() -> None:
    config = parse(
        """
        port: 12000
        endpoint: /push
        methods: [post, PUT]
        maxPayloadSize: 4096
        auth:
          bearerToken: {name: webhook, key: token}
          hmac:
            secret: {env: GITHUB_SECRET}
        """
    )
    assert config.port == 12000
    assert config.methods == {"POST", "PUT"}
    assert config.max_payload_size == 4096
    assert (
        config.bearer_token is not None and config.bearer_token.describe() == "secret webhook/token"
    )
    assert config.hmac is not None and config.hmac.secret.env == "GITHUB_SECRET"
    assert (config.hmac.header, config.hmac.prefix, config.hmac.algorithm) == (
        "X-Hub-Signature-256",
        "sha256=",
        "sha256",
    )


def test_defaults() -> None:
    config = parse("endpoint: /example")
    assert config.methods == {"POST"}
    assert config.max_payload_size == DEFAULT_MAX_PAYLOAD
    assert config.port is None and not config.tls
    assert config.bearer_token is None and config.hmac is None


def test_hmac_options() -> None:
    config = parse(
        """
        endpoint: /gitlab
        auth:
          hmac: {secret: {file: /etc/secret}, header: X-Signature, prefix: "", algorithm: sha1}
        """
    )
    assert config.hmac is not None
    assert (config.hmac.header, config.hmac.prefix, config.hmac.algorithm) == (
        "X-Signature",
        "",
        "sha1",
    )


def test_every_problem_is_reported_at_once() -> None:
    found = problems(
        """
        port: 70000
        endpoint: example
        method: FETCH
        serverCertPath: /cert
        maxPayloadSize: none
        colour: blue
        auth:
          hmac: {algorithm: md5}
          basic: yes
        """
    )
    assert found == [
        "endpoint: 'example' must start with '/'",
        "method: 'FETCH' is not an HTTP method",
        "port: 70000 is more than 65535",
        "serverKeyPath: TLS needs both serverCertPath and serverKeyPath",
        "maxPayloadSize: 'none' is not an integer",
        "auth.hmac.secret: is required (a secret reference {name, key})",
        "auth.hmac.algorithm: 'md5' is not one of sha1, sha256, sha512",
        "auth.basic: unknown field",
        "colour: unknown field",
    ]


def test_endpoint_is_required() -> None:
    assert problems("port: 12000") == ["endpoint: is required"]


def test_not_a_mapping() -> None:
    assert problems("- a\n- b") == ["expected a mapping of fields, got list"]


def test_bad_yaml() -> None:
    (problem,) = problems("endpoint: [unclosed")
    assert problem.startswith("not valid YAML: ")


def test_problems_name_the_source_and_the_field() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_source("webhook", "orders", "port: 80")
    assert caught.value.problems == ("webhook/orders: endpoint: is required",)
    assert str(caught.value) == "webhook/orders: endpoint: is required"
