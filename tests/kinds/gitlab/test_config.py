"""GitLab config: every field, every problem, and the seed era's ConfigMap as it is."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from functions.gitlab.config import DEFAULT_BASE_URL, EVENTS, GitLabConfig, find_event
from gateways.config import parse_source
from tests.kit import REFERENCE_DATA, parser, problem_lister

parse = parser("gitlab", GitLabConfig)
problems = problem_lister("gitlab")
SEED = REFERENCE_DATA / "argo-events-v0.10-examples" / "gitlab.yaml"


def _seed_entries() -> dict[str, str]:
    documents = [doc for doc in yaml.safe_load_all(SEED.read_text()) if doc]
    return {name: text for doc in documents for name, text in doc["data"].items()}


def test_seed_era_configmap_validates_unchanged() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gateways", "validate", "--type", "gitlab", str(SEED)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all valid" in done.stdout


def test_seed_era_values() -> None:
    configs = {name: parse_source("gitlab", name, text) for name, text in _seed_entries().items()}
    example, secure = configs["example"], configs["example-secure"]
    assert example.project_id == "1" and secure.project_id == "2"
    assert example.hook.endpoint == "/push" and example.hook.port == 12000
    assert example.hook.url == "http://myfakeurl.fake"
    assert example.events == {"push_events"} and not example.every
    assert example.access_token.name == "gitlab-access"
    assert example.access_token.key == "accesskey"
    assert example.enable_ssl_verification is False and secure.enable_ssl_verification is True
    assert example.gitlab_base_url == "YOUR_GITLAB_URL"  # checked when registering
    assert secure.hook.tls == ("some path in pod", "some path in pod")
    assert example.registers and not example.delete_hook_on_finish
    assert example.secret_token is None


def test_every_field() -> None:
    config = parse(
        """
        projectId: group/project
        hook:
          endpoint: /gitlab
          port: 12001
          url: https://hooks.example.com/gitlab
          maxPayloadSize: 26214400
        events: [PushEvents, merge_requests_events, Pipeline Hook]
        accessToken: {name: gitlab-access, key: token}
        secretToken: {env: GITLAB_HOOK_TOKEN}
        enableSSLVerification: true
        gitlabBaseUrl: https://gitlab.example.com/
        deleteHookOnFinish: true
        """
    )
    assert config.project_id == "group/project"
    assert config.hook.max_payload_size == 26214400
    assert config.events == {"push_events", "merge_requests_events", "pipeline_events"}
    assert config.secret_token is not None and config.secret_token.env == "GITLAB_HOOK_TOKEN"
    assert config.gitlab_base_url == "https://gitlab.example.com"
    assert config.delete_hook_on_finish and config.enable_ssl_verification


def test_defaults_receive_only() -> None:
    config = parse("hook: {endpoint: /gitlab}\nevent: TagPushEvents")
    assert config.events == {"tag_push_events"}
    assert config.access_token is None and not config.registers
    assert config.project_id is None and config.hook.url is None
    assert config.gitlab_base_url == DEFAULT_BASE_URL
    assert config.enable_ssl_verification is True  # GitLab's own default
    assert config.delete_hook_on_finish is False


def test_later_base_url_spelling() -> None:
    config = parse("hook: {endpoint: /g}\nevent: PushEvents\ngitlabBaseURL: http://gl.local:8080")
    assert config.gitlab_base_url == "http://gl.local:8080"


def test_every_event() -> None:
    config = parse("hook: {endpoint: /g}\nevents: ['*']")
    assert config.every and config.events == {event.attribute for event in EVENTS}
    assert config.accepts("Emoji Hook")  # even one the table does not name


@pytest.mark.parametrize(
    ("name", "attribute"),
    [
        ("PushEvents", "push_events"),
        ("push_events", "push_events"),
        ("Push Hook", "push_events"),
        ("MergeRequestsEvents", "merge_requests_events"),
        ("Confidential Issue Hook", "confidential_issues_events"),
        ("ConfidentialNoteEvents", "confidential_note_events"),
        ("Build Hook", "job_events"),
        ("ReleasesEvents", "releases_events"),
        ("resource-access-token-events", "resource_access_token_events"),
    ],
)
def test_event_spellings(name: str, attribute: str) -> None:
    event = find_event(name)
    assert event is not None and event.attribute == attribute


def test_filter_matches_headers_exactly() -> None:
    config = parse("hook: {endpoint: /g}\nevents: [IssuesEvents, JobEvents]")
    assert config.accepts("Issue Hook") and config.accepts("Job Hook")
    assert config.accepts("Build Hook")  # GitLab before 9.3
    assert not config.accepts("Confidential Issue Hook")  # its own flag, as on GitLab
    assert not config.accepts("Push Hook") and not config.accepts("issues_events")
    assert not config.accepts("Emoji Hook")


def test_every_problem_is_reported_at_once() -> None:
    found = problems(
        """
        hook:
          endpoint: push
          port: 0
          url: ftp://example.com
          colour: red
        events: [PushEvents, StarEvents]
        accessToken: {name: gitlab-access}
        secretToken: plain-text-token
        enableSSLVerification: maybe
        gitlabBaseUrl: https://a.example.com
        gitlabBaseURL: https://b.example.com
        deleteHookOnFinish: true
        projectId: "  "
        extra: 1
        """
    )
    known = ", ".join(event.setting for event in EVENTS)
    assert found == [
        "hook.endpoint: 'push' must start with '/'",
        "hook.port: 0 is less than 1",
        "hook.url: 'ftp://example.com' is not an http or https URL",
        "hook.colour: unknown field",
        f"events: 'StarEvents' is not one of {known}",
        "accessToken: needs {name, key}, {env} or {file}",
        "secretToken: expected a mapping, got str",
        "enableSSLVerification: 'maybe' is not true or false",
        "gitlabBaseURL: give gitlabBaseUrl or gitlabBaseURL, not both",
        "projectId: is required to register the hook (accessToken is set)",
        "extra: unknown field",
    ]


def test_hook_is_required() -> None:
    assert problems("event: PushEvents") == ["hook: is required (endpoint, port, url)"]


def test_events_are_required() -> None:
    assert problems("hook: {endpoint: /g}") == [
        "events: is required: one or more events, e.g. PushEvents, or '*'"
    ]


def test_registering_needs_the_hook_url() -> None:
    found = problems(
        "hook: {endpoint: /g}\nevent: PushEvents\nprojectId: 1\naccessToken: {env: GITLAB_TOKEN}"
    )
    assert found == ["hook.url: is required to register the hook (accessToken is set)"]


def test_deleting_needs_an_access_token() -> None:
    found = problems("hook: {endpoint: /g}\nevent: PushEvents\ndeleteHookOnFinish: true")
    assert found == ["deleteHookOnFinish: needs accessToken (the hook is not registered)"]


def test_a_bad_single_event_names_its_field() -> None:
    known = ", ".join(event.setting for event in EVENTS)
    assert problems("hook: {endpoint: /g}\nevent: Pushes") == [
        f"event: 'Pushes' is not one of {known}"
    ]
