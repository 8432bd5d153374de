"""NATS config: URL, subject syntax, queue group, JetStream, TLS, auth, backoff."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.streams.nats.config import JetStream, NATSAuth, NATSConfig, subject_problem
from gateways.config import ConfigError, parse_source
from gateways.config.common import Backoff, BasicAuth, SecretRef
from tests.kit import parser, problem_lister

parse = parser("nats", NATSConfig)
problems = problem_lister("nats")


def test_good_config() -> None:
    config = parse(
        """
        url: tls://nats.example.com:4222
        subject: orders.*.created
        queue: gateway.workers
        jetStream:
          stream: ORDERS
          durable: gateway
          deliverPolicy: all
          ackWait: 1m
          maxAckPending: 64
        tls: {caCertPath: /etc/nats/ca.crt}
        auth: {username: gw, password: {name: nats, key: password}}
        backoff: {duration: 500ms, factor: 1.5, jitter: 0, steps: 10, cap: 30s}
        """
    )
    assert config.url == "tls://nats.example.com:4222" and config.secure
    assert (config.subject, config.queue) == ("orders.*.created", "gateway.workers")
    assert config.jetstream
    assert config.jet_stream == JetStream("gateway", "ORDERS", "all", timedelta(minutes=1), 64)
    password = SecretRef(name="nats", key="password")
    assert config.auth == NATSAuth(basic=BasicAuth("gw", password))  # the core's user/password
    assert config.backoff == Backoff(
        timedelta(milliseconds=500), 1.5, 0.0, 10, timedelta(seconds=30)
    )


def test_defaults() -> None:
    config = parse("url: nats://localhost:4222\nsubject: '>'")
    assert not config.jetstream and not config.secure
    assert config.queue is None and config.auth is None and config.tls is None
    assert config.backoff == Backoff()  # a safe default when omitted
    assert not config.backoff.exhausted(1000)  # steps 0: retry for ever, capped
    assert config.backoff.delay(30, jitter=False) == 60.0


def test_partial_backoff_keeps_defaults() -> None:
    backoff = parse("url: nats://localhost:4222\nsubject: a\nbackoff: {steps: 3}").backoff
    assert backoff == Backoff(steps=3)
    assert backoff.exhausted(3) and not backoff.exhausted(2)


def test_jetstream_defaults() -> None:
    config = parse("url: nats://localhost:4222\nsubject: a.b\njetStream: {durable: gw}")
    assert config.jet_stream == JetStream(durable="gw")
    assert config.jet_stream.deliver_policy == "new"  # a new consumer does not replay the stream


def test_token_and_credentials_file() -> None:
    token = parse("url: nats://h:4222\nsubject: a\nauth: {token: {env: NATS_TOKEN}}").auth
    assert token == NATSAuth(token=SecretRef(env="NATS_TOKEN"))
    creds = parse(
        "url: nats://h:4222\nsubject: a\nauth: {credentialsFile: /etc/nats/gw.creds}"
    ).auth
    assert creds == NATSAuth(credentials_file="/etc/nats/gw.creds")


def test_seed_era_auth_field_names_load() -> None:
    text = "url: nats://h:4222\nsubject: a\nauth: {username: gw, password: {env: NATS_PW}}"
    auth = parse(text).auth
    assert auth is not None and auth.basic == BasicAuth("gw", SecretRef(env="NATS_PW"))
    assert auth.token is None and auth.credentials_file is None


def test_a_password_needs_a_username() -> None:
    assert problems("url: nats://h:4222\nsubject: a\nauth: {password: {env: PW}}") == [
        "auth.username: is required with password",
        "auth: needs username and password, token or credentialsFile",
    ]


@pytest.mark.parametrize("subject", ["foo", "foo.bar", "foo.*", "foo.>", "*.*.>", ">", "$JS.API.>"])
def test_valid_subjects(subject: str) -> None:
    assert subject_problem(subject) is None


@pytest.mark.parametrize(
    "subject", ["", "foo bar", "foo.", ".foo", "foo..bar", "foo.>.bar", "foo*", "fo>o"]
)
def test_invalid_subjects(subject: str) -> None:
    assert subject_problem(subject) is not None


def test_every_problem_is_reported_at_once() -> None:
    found = problems(
        """
        url: http://nats:4222
        subject: "orders.>.created"
        queue: "my workers"
        jetStream: {stream: "ORDERS.v1", deliverPolicy: first, ackWait: 0s, maxAckPending: 0}
        auth: {username: gw, token: {env: T}}
        backoff: {duration: forever, factor: 0.5, retries: 3}
        tls: {verify: false}
        reconnect: true
        """
    )
    assert found == [
        "url: 'http://nats:4222' must start with nats:// or tls://",
        "subject: 'orders.>.created': '>' must be the last token",
        "queue: 'my workers' is not a queue group name (no spaces or wildcards)",
        "jetStream.durable: is required",
        "jetStream.stream: 'ORDERS.v1' must not contain spaces, '.', '*', '>' or slashes",
        "jetStream.deliverPolicy: 'first' is not one of all, last, new",
        "jetStream.ackWait: must be positive",
        "jetStream.maxAckPending: 0 is less than 1",
        "backoff.duration: 'forever' is not a duration such as '10s', '1m30s' or '250ms'",
        "backoff.factor: 0.5 is less than 1.0",
        "backoff.retries: unknown field",
        "tls.verify: unknown field",
        "auth.password: is required (a secret reference {name, key})",
        "auth: give one of username, token or credentialsFile, not username and token",
        "reconnect: unknown field",
    ]


def test_required_fields() -> None:
    assert problems("backoff: {steps: 1}") == [
        "url: is required",
        "subject: is required",
    ]


def test_password_in_url_is_not_echoed() -> None:
    (problem,) = problems("url: 'ws://gw:s3cret@nats:4222'\nsubject: a")
    assert "s3cret" not in problem and "gw:***@nats:4222" in problem


def test_problems_name_the_source_and_the_field() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_source("nats", "orders", "subject: a")
    assert caught.value.problems == ("nats/orders: url: is required",)
    assert str(caught.value) == "nats/orders: url: is required"
