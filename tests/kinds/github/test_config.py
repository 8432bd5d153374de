"""GitHub config: every field, every problem, and the seed era's ConfigMap unchanged."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
import yaml

from functions.github.config import DEFAULT_BASE_URL, GITHUB_MAX_PAYLOAD, GitHubConfig
from gateways.config import parse_source
from tests.kit import REFERENCE_DATA, ROOT, parser, problem_lister

pytestmark = pytest.mark.timeout(60)
parse = parser("github", GitHubConfig)
problems = problem_lister("github")
SEED = REFERENCE_DATA / "argo-events-v0.10-examples" / "github.yaml"
MINIMAL = """
hook: {endpoint: /push, port: 12000}
events: [push]
webHookSecret: {name: github-access, key: secret}
"""


def test_every_field() -> None:
    config = parse(
        """
        owner: argoproj
        repository: argo-events
        hook:
          endpoint: /push
          port: "12000"
          url: https://hooks.example.com/push
          serverCertPath: /tls/crt
          serverKeyPath: /tls/key
          maxPayloadSize: 4096
        events: [push, "pull_request", push]
        apiToken: {name: github-access, key: token}
        webHookSecret: {name: github-access, key: secret}
        insecure: true
        active: false
        contentType: form
        githubBaseURL: https://github.example.com/api/v3/
        deleteHookOnFinish: true
        allowSha1Signature: true
        backoff: {duration: 250ms, factor: 3, steps: 4}
        """
    )
    assert (config.owner, config.repository, config.organization) == (
        "argoproj",
        "argo-events",
        None,
    )
    hook = config.hook
    assert (hook.endpoint, hook.port, hook.url) == (
        "/push",
        12000,
        "https://hooks.example.com/push",
    )
    assert hook.tls == ("/tls/crt", "/tls/key") and hook.max_payload_size == 4096
    assert hook.methods == {"POST"}
    assert config.events == ("push", "pull_request")  # duplicates dropped, order kept
    assert (
        config.api_token is not None and config.api_token.describe() == "secret github-access/token"
    )
    assert config.webhook_secret.describe() == "secret github-access/secret"
    assert (config.insecure, config.active, config.content_type) == (True, False, "form")
    assert config.base_url == "https://github.example.com/api/v3"
    assert config.delete_hook_on_finish and config.allow_sha1_signature
    assert config.backoff.duration == timedelta(milliseconds=250)
    assert (config.backoff.factor, config.backoff.steps) == (3.0, 4)
    assert config.registers and config.target == "repository argoproj/argo-events"


def test_defaults_receive_only() -> None:
    config = parse(MINIMAL)
    assert not config.registers and config.api_token is None
    assert config.hook.max_payload_size == GITHUB_MAX_PAYLOAD  # GitHub's own 25 MB cap
    assert (config.insecure, config.active, config.content_type) == (False, True, "json")
    assert config.base_url == DEFAULT_BASE_URL
    assert not config.delete_hook_on_finish and not config.allow_sha1_signature
    assert config.backoff.duration == timedelta(seconds=1)


def test_organization_hook_and_the_later_secret_spelling() -> None:
    config = parse(
        """
        organization: octo-org
        hook: {endpoint: /org, url: http://127.0.0.1/org}
        events: "*"
        apiToken: {env: GITHUB_TOKEN}
        webhookSecret: {env: GITHUB_SECRET}
        """
    )
    assert config.organization == "octo-org" and config.target == "organization octo-org"
    assert config.events == ("*",) and config.subscribes("anything")
    assert config.webhook_secret.env == "GITHUB_SECRET"


def test_subscribes() -> None:
    config = parse(MINIMAL.replace("[push]", "[push, issues]"))
    assert config.subscribes("push") and config.subscribes("issues")
    assert not config.subscribes("pull_request")


def test_every_problem_is_reported_at_once() -> None:
    found = problems(
        """
        owner: "argo proj"
        repository: "../etc"
        hook: {endpoint: push, port: 0, url: "ftp://x", colour: red}
        events: [push, "Pull Request"]
        apiToken: {name: github-access}
        insecure: maybe
        contentType: xml
        githubBaseURL: "api.github.com"
        backoff: {factor: 0.5}
        extra: 1
        """
    )
    assert found == [
        "hook.endpoint: 'push' must start with '/'",
        "hook.port: 0 is less than 1",
        "hook.url: 'ftp://x' is not an http or https URL",
        "hook.colour: unknown field",
        "owner: 'argo proj' is not a GitHub owner name",
        "repository: '../etc' is not a GitHub repository name",
        "events: 'Pull Request' is not a GitHub event name (or '*')",
        "webHookSecret: is required (GitHub signs every delivery with it; unsigned requests"
        " are refused)",
        "apiToken: needs {name, key}, {env} or {file}",
        "insecure: 'maybe' is not true or false",
        "contentType: 'xml' is not one of form, json",
        "githubBaseURL: 'api.github.com' must start with http:// or https://",
        "backoff.factor: 0.5 is less than 1.0",
        "owner: owner and repository (or organization) name the hook",
        "extra: unknown field",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "hook: {endpoint: /x}\nwebHookSecret: {env: S}",
            ["events: is required (event names such as push, or '*' for all)"],
        ),
        (
            MINIMAL.replace("[push]", "[]"),
            ["events: must name at least one event (or '*' for all)"],
        ),
        ("events: [push]\nwebHookSecret: {env: S}", ["hook: is required (endpoint, port, url)"]),
        (MINIMAL + "owner: a", ["repository: owner and repository go together"]),
        (MINIMAL + "repository: a", ["owner: owner and repository go together"]),
        (
            MINIMAL + "owner: a\nrepository: b\norganization: c",
            ["organization: give owner and repository, or organization, not both"],
        ),
        (
            MINIMAL + "apiToken: {env: T}\nowner: a\nrepository: b",
            ["hook.url: is required to register the hook (apiToken is set)"],
        ),
        (
            MINIMAL + "deleteHookOnFinish: true",
            ["deleteHookOnFinish: needs apiToken (nothing is registered without)"],
        ),
        (
            MINIMAL + "webhookSecret: {env: S}",
            ["webhookSecret: give webHookSecret or webhookSecret, not both"],
        ),
        (
            MINIMAL + "allowSha1Signature: sometimes",
            ["allowSha1Signature: 'sometimes' is not true or false"],
        ),
        (
            MINIMAL + "organization: -bad-",
            ["organization: '-bad-' is not a GitHub organization name"],
        ),
    ],
)
def test_single_problems(text: str, expected: list[str]) -> None:
    assert problems(text) == expected


def test_the_seed_era_configmap_loads_unchanged() -> None:
    documents = [doc for doc in yaml.safe_load_all(SEED.read_text()) if doc]
    entries = {name: value for doc in documents for name, value in doc["data"].items()}
    configs = {name: parse_source("github", name, value) for name, value in entries.items()}
    example = configs["example"]
    assert (example.owner, example.repository) == ("argoproj", "argo-events")
    assert (example.hook.endpoint, example.hook.port) == ("/push", 12000)
    assert example.hook.url == "http://myfakeurl.fake"
    assert example.events == ("*",) and example.registers
    assert (example.insecure, example.active, example.content_type) == (False, True, "json")
    secure = configs["example-with-secure-connection"]
    assert secure.hook.tls == ("some path in pod", "some path in pod")
    assert secure.events == ("push", "delete") and secure.insecure


def test_the_seed_era_configmap_validates_with_the_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gateways", "validate", "--type", "github", str(SEED)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all valid" in done.stdout
