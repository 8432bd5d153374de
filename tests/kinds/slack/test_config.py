"""Slack config: hook, signingSecret, token, replayWindow; every problem; the seed era's
ConfigMap loading unchanged."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import yaml

from functions.slack.config import DEFAULT_REPLAY_WINDOW, SlackConfig
from gateways.config import parse_source
from tests.kit import REFERENCE_DATA, parser, problem_lister

parse = parser("slack", SlackConfig)
problems = problem_lister("slack")
SEED = REFERENCE_DATA / "argo-events-v0.10-examples" / "slack.yaml"


def test_every_field() -> None:
    config = parse(
        """
        hook:
          endpoint: /slack/events
          port: "12000"
          serverCertPath: /tls/crt
          serverKeyPath: /tls/key
          maxPayloadSize: 65536
        signingSecret: {name: slack-secret, key: signingSecret}
        token: {env: SLACK_TOKEN}
        replayWindow: 90s
        """
    )
    assert config.hook.endpoint == "/slack/events"
    assert config.hook.port == 12000
    assert config.hook.methods == {"POST"}
    assert config.hook.tls == ("/tls/crt", "/tls/key")
    assert config.hook.max_payload_size == 65536
    assert config.signing_secret is not None
    assert config.signing_secret.describe() == "secret slack-secret/signingSecret"
    assert config.token is not None and config.token.env == "SLACK_TOKEN"
    assert config.replay_window == timedelta(seconds=90)


def test_defaults_and_a_token_alone() -> None:
    config = parse("hook: {endpoint: /}\ntoken: {file: /etc/slack/token}")
    assert config.signing_secret is None and config.token is not None
    assert config.replay_window == DEFAULT_REPLAY_WINDOW == timedelta(minutes=5)
    assert config.hook.port is None and config.hook.tls is None


def test_every_problem_is_reported_at_once() -> None:
    found = problems(
        """
        hook:
          endpoint: events
          port: 70000
          method: GET
          url: https://example.com/
        signingSecret: {name: slack-secret}
        token: plain-text
        replayWindow: -1m
        colour: blue
        """
    )
    assert found == [
        "hook.endpoint: 'events' must start with '/'",
        "hook.port: 70000 is more than 65535",
        "hook.method: unknown field",
        "hook.url: unknown field",
        "token: expected a mapping, got str",
        "signingSecret: needs {name, key}, {env} or {file}",
        "replayWindow: must be longer than zero",
        "colour: unknown field",
    ]


def test_a_credential_is_required() -> None:
    assert problems("hook: {endpoint: /}") == [
        "signingSecret: is required (or, for an app made before signing, token)"
    ]


def test_hook_is_required_and_checked() -> None:
    assert problems("signingSecret: {env: S}") == ["hook: is required (endpoint, port, url)"]
    assert problems("signingSecret: {env: S}\nhook: {port: 1}") == ["hook.endpoint: is required"]
    assert problems("signingSecret: {env: S}\nhook: {endpoint: /, serverKeyPath: /k}") == [
        "hook.serverCertPath: TLS needs both serverCertPath and serverKeyPath"
    ]


def test_replay_window_must_be_a_duration() -> None:
    (problem,) = problems("hook: {endpoint: /}\nsigningSecret: {env: S}\nreplayWindow: soon")
    assert problem.startswith("replayWindow: 'soon' is not a duration")


def test_the_seed_era_configmap_loads_unchanged() -> None:
    [document] = [d for d in yaml.safe_load_all(SEED.read_text()) if d]
    configs = {name: parse_source("slack", name, text) for name, text in document["data"].items()}
    first, second, secure = configs["example-1"], configs["example-2"], configs["example-3"]
    assert (first.hook.endpoint, first.hook.port) == ("/", 12000)
    assert first.token is not None and (first.token.name, first.token.key) == (
        "slack-secret",
        "tokenkey",
    )
    assert first.signing_secret is not None
    assert (first.signing_secret.name, first.signing_secret.key) == (
        "slack-secret",
        "signingSecret",
    )
    assert second.hook.port == 13000 and second.signing_secret is None
    assert second.token is not None and second.token.name == "slack-secret-2"
    assert secure.hook.port == 14000
    assert secure.hook.tls == ("some path in pod", "some path in pod")


def test_gateways_validate_accepts_the_seed_configmap_as_it_is() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gateways", "validate", "--type", "slack", str(SEED)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 source(s) in 1 gateway(s), all valid" in done.stdout
