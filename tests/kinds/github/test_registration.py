"""Hook registration through ``gateways up`` against the stand-in GitHub API, which refuses any
request GitHub's REST description (``@octokit/openapi``) does not allow: create, update in
place (never a duplicate), delete on removal when configured, organization hooks, failures
retried with backoff (``degraded``, then ``running``) while the endpoint serves."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

import functions.github.client  # noqa: F401 - imported first: PyGithub resets its log level
from gateways.runtime import GatewayRuntime
from tests.kinds.github.conftest import API_TOKEN
from tests.kinds.github.standin import GitHubStandIn
from tests.kinds.github.support import SECRET, SECRET_ENV, delivery, post, registry, source
from tests.kit import free_port, start_gateway, status_of, wait_until
from tests.watcher import RecordingWatcher

pytestmark = pytest.mark.timeout(60)
HOOK_URL = "https://hooks.example.com/github/push"
REPO = "repos/octo-org/hello-world"
FAST = {"duration": "100ms", "factor": 1, "jitter": 0}
Start = Callable[..., Awaitable[GatewayRuntime]]


def registering(port: int, api: GitHubStandIn, **fields: Any) -> dict[str, Any]:
    """A GitHub source that registers its hook at the stand-in (``fields`` override)."""
    config = source(port)
    config.update(
        hook={"endpoint": "/push", "port": port, "url": HOOK_URL},
        events=["push", "pull_request"],
        apiToken={"name": "github-access", "key": "token"},
        githubBaseURL=api.base_url,
        contentType="json",
        insecure=False,
        active=True,
        backoff=FAST,
    )
    config.update(fields)
    return config


@pytest.fixture
async def start(
    tmp_path: Path,
    watcher: RecordingWatcher,
    github_api: GitHubStandIn,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Start]:
    """``await start(sources)``: ``gateways up`` over a registry of these GitHub sources."""
    for name, value in {**SECRET_ENV, "GITHUB_ACCESS_TOKEN": API_TOKEN}.items():
        monkeypatch.setenv(name, value)
    started: list[GatewayRuntime] = []

    async def run(sources: dict[str, dict[str, Any]]) -> GatewayRuntime:
        runtime = await start_gateway(registry(tmp_path, watcher.url, sources), tmp_path)
        started.append(runtime)
        return runtime

    yield run
    for runtime in started:
        await runtime.stop()
    # Whatever a test did, nothing was asked that the description does not allow.
    assert github_api.violations == [], github_api.violations
    assert github_api.unimplemented == [] and github_api.self_check == []


async def wait_state(
    runtime: GatewayRuntime, name: str, state: str | None, timeout: float = 10
) -> str:
    """The source's status reason, once it is in ``state`` (None: gone from the registry)."""

    def now() -> str | None:
        found = [s for s in runtime.reconciler.status() if s.name == name]
        return found[0].state if found else None

    await wait_until(lambda: now() == state, timeout, lambda: f"{name} is {now()}")
    return status_of(runtime, name).reason if state else ""


def only_hook(api: GitHubStandIn, scope: str = REPO) -> Any:
    [hook] = [hook for hook in api.hooks_of(scope) if hook.url == HOOK_URL]
    return hook


async def test_creates_the_hook_as_configured(start: Start, github_api: GitHubStandIn) -> None:
    runtime = await start({"example": registering(free_port(), github_api)})
    await wait_state(runtime, "example", "running")
    hook = only_hook(github_api)
    assert hook.config == {
        "url": HOOK_URL,
        "content_type": "json",
        "secret": SECRET,
        "insecure_ssl": "0",
    }
    assert (hook.events, hook.active, hook.name) == (["push", "pull_request"], True, "web")
    assert github_api.operations() == ["repos/list-webhooks", "repos/create-webhook"]


async def test_updates_the_hook_with_the_same_url_in_place(
    start: Start, github_api: GitHubStandIn
) -> None:
    stale = github_api.add_hook(
        REPO, HOOK_URL, config={"secret": "old", "content_type": "json"}, events=["*"]
    )
    other = github_api.add_hook(REPO, "https://elsewhere.example.com/", events=["issues"])
    fields = {"contentType": "form", "insecure": True, "active": False}
    runtime = await start({"example": registering(free_port(), github_api, **fields)})
    await wait_state(runtime, "example", "running")
    assert len(github_api.hooks_of(REPO)) == 2  # no duplicate
    hook = only_hook(github_api)
    assert hook.id == stale.id
    assert hook.config == {
        "url": HOOK_URL,
        "content_type": "form",
        "secret": SECRET,
        "insecure_ssl": "1",
    }
    assert (hook.events, hook.active) == (["push", "pull_request"], False)
    assert github_api.hooks[other.id].events == ["issues"]  # someone else's hook untouched
    assert github_api.operations() == ["repos/list-webhooks", "repos/update-webhook"]


async def test_a_restart_finds_its_own_hook_on_a_later_page(
    start: Start, github_api: GitHubStandIn
) -> None:
    for number in range(120):
        github_api.add_hook(REPO, f"https://other.example.com/{number}")
    port = free_port()
    first = await start({"example": registering(port, github_api)})
    await wait_state(first, "example", "running")
    created = only_hook(github_api)
    await first.stop()
    second = await start({"example": registering(port, github_api)})
    await wait_state(second, "example", "running")
    assert only_hook(github_api).id == created.id and len(github_api.hooks_of(REPO)) == 121
    operations = github_api.operations()
    assert operations.count("repos/create-webhook") == 1
    assert operations.count("repos/update-webhook") == 1
    assert operations.count("repos/list-webhooks") == 4  # two pages, twice


async def test_failures_are_retried_and_shown_degraded_while_the_endpoint_serves(
    start: Start, github_api: GitHubStandIn, watcher: RecordingWatcher
) -> None:
    github_api.fail(500)
    port = free_port()
    runtime = await start({"example": registering(port, github_api)})
    reason = await wait_state(runtime, "example", "degraded")
    assert "hook registration" in reason and "500" in reason
    async with aiohttp.ClientSession() as session:  # the endpoint serves meanwhile
        body, headers = delivery("push", {"repository": {"full_name": "octo-org/hello-world"}})
        assert (await post(session, f"http://127.0.0.1:{port}/push", body, headers))[0] == 200
    await watcher.wait_for(1)
    await wait_until(lambda: github_api.operations().count("repos/list-webhooks") >= 3)
    assert github_api.hooks_of(REPO) == []
    github_api.recover()
    assert await wait_state(runtime, "example", "running") == ""
    assert len(github_api.hooks_of(REPO)) == 1
    statuses = [call.status for call in github_api.calls]
    assert statuses[-2:] == [200, 201] and set(statuses[:-2]) == {500}


async def test_a_refused_token_is_degraded_until_the_secret_is_right(
    start: Start, github_api: GitHubStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_ACCESS_TOKEN", "ghp_revoked")
    runtime = await start({"example": registering(free_port(), github_api)})
    reason = await wait_state(runtime, "example", "degraded")
    assert "401" in reason and "ghp_revoked" not in reason
    monkeypatch.setenv("GITHUB_ACCESS_TOKEN", API_TOKEN)  # read again on every attempt
    await wait_state(runtime, "example", "running")
    assert only_hook(github_api).config["secret"] == SECRET
    assert any(call.status == 401 for call in github_api.calls)


async def test_an_organization_hook(start: Start, github_api: GitHubStandIn) -> None:
    fields = registering(free_port(), github_api, organization="octo-org", events=["*"])
    del fields["owner"], fields["repository"]
    runtime = await start({"example": fields})
    await wait_state(runtime, "example", "running")
    hook = only_hook(github_api, "orgs/octo-org")
    assert hook.events == ["*"] and hook.config["secret"] == SECRET
    assert github_api.hooks_of(REPO) == []
    assert github_api.operations() == ["orgs/list-webhooks", "orgs/create-webhook"]


async def test_an_unknown_repository_is_degraded_and_others_run(
    start: Start, github_api: GitHubStandIn
) -> None:
    port = free_port()
    missing = registering(port, github_api, repository="no-such-repo")
    missing["hook"] = {**missing["hook"], "endpoint": "/missing"}
    runtime = await start({"example": registering(port, github_api), "missing": missing})
    assert "404" in await wait_state(runtime, "missing", "degraded")
    await wait_state(runtime, "example", "running")
    assert len(github_api.hooks_of(REPO)) == 1


async def test_removal_deletes_the_hook_only_when_configured(
    start: Start, github_api: GitHubStandIn, tmp_path: Path, watcher: RecordingWatcher
) -> None:
    port = free_port()
    keep = registering(port, github_api)
    keep["hook"] = {"endpoint": "/keep", "port": port, "url": HOOK_URL + "/keep"}
    sources = {"keep": keep, "delete": registering(port, github_api, deleteHookOnFinish=True)}
    runtime = await start(sources)
    await wait_state(runtime, "keep", "running")
    await wait_state(runtime, "delete", "running")
    assert len(github_api.hooks_of(REPO)) == 2
    registry(tmp_path, watcher.url, {"keep": keep})  # the live edit removes "delete"
    await wait_state(runtime, "delete", None)
    await wait_until(lambda: len(github_api.hooks_of(REPO)) == 1)
    [left] = github_api.hooks_of(REPO)
    assert left.url == HOOK_URL + "/keep"
    registry(tmp_path, watcher.url, {})  # "keep" removed too, but it does not ask to delete
    await wait_state(runtime, "keep", None)
    assert github_api.hooks_of(REPO) == [left]
    assert github_api.operations().count("repos/delete-webhook") == 1


async def test_shutdown_and_restart_never_delete(start: Start, github_api: GitHubStandIn) -> None:
    port = free_port()
    runtime = await start({"example": registering(port, github_api, deleteHookOnFinish=True)})
    await wait_state(runtime, "example", "running")
    await runtime.stop()  # scale to zero, a rollout: the hook stays
    assert len(github_api.hooks_of(REPO)) == 1
    assert "repos/delete-webhook" not in github_api.operations()


async def test_neither_secret_nor_token_reaches_the_logs(
    start: Start, github_api: GitHubStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="github")  # PyGithub logs request bodies at DEBUG
    runtime = await start({"example": registering(free_port(), github_api)})
    await wait_state(runtime, "example", "running")
    requests = [r for r in caplog.records if r.name == "github.Requester"]
    assert any("create" in r.getMessage() or "POST" in r.getMessage() for r in requests)
    assert SECRET not in caplog.text and API_TOKEN not in caplog.text
    assert "********" in caplog.text
