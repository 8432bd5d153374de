"""The project hook on GitLab, kept through python-gitlab against a stand-in of GitLab's
documented project-hooks API (tests/kinds/gitlab/gitlab_api.py, which refuses any request the
documentation does not allow): created as configured, updated in place (no duplicate), kept
across restarts, deleted on removal when asked, and retried while GitLab fails, with the
endpoint serving all along."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.kinds.gitlab.gatewaykit import (
    HOOK_TOKEN,
    Gateway,
    delivery,
    documents,
    listed,
    post,
    start,
)
from tests.kinds.gitlab.gitlab_api import GitLabAPI
from tests.kinds.gitlab.payloads import PUSH
from tests.kit import free_port, start_gateway, status_of, wait_until, write_registry
from tests.watcher import RecordingWatcher

pytestmark = pytest.mark.timeout(60)


async def test_hook_is_created_as_configured(gateway: Gateway, api: GitLabAPI) -> None:
    [hook] = api.project_hooks()
    assert hook["url"] == gateway.hook_url()
    assert hook["_token"] == HOOK_TOKEN
    assert hook["enable_ssl_verification"] is False
    subscribed = {flag for flag, on in hook.items() if flag.endswith("_events") and on is True}
    assert subscribed == {
        "push_events",
        "tag_push_events",
        "issues_events",
        "note_events",
        "merge_requests_events",
        "pipeline_events",
        "job_events",
        "releases_events",
    }
    assert api.refused == []
    assert [(c.method, c.status) for c in api.calls] == [("GET", 200), ("POST", 201)]


async def test_existing_hook_is_updated_in_place(
    tmp_path: Path, api: GitLabAPI, watcher: RecordingWatcher, secrets: None
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/gitlab"
    for number in range(25):  # ours is on the list's second page
        api.add(url=f"https://elsewhere.example.com/{number}")
    old = api.add(url=url, push_events=False, wiki_page_events=True, token="old")
    duplicate = api.add(url=url, note_events=True)
    docs = documents(port, api, watcher)
    runtime = await start_gateway(write_registry(tmp_path / "registry.yaml", *docs), tmp_path)
    try:
        await wait_until(lambda: status_of(runtime, "project").state == "running", 10)
        ours = [hook for hook in api.project_hooks() if hook["url"] == url]
        assert [hook["id"] for hook in ours] == [old["id"]]  # updated, duplicate gone
        assert duplicate["id"] not in {hook["id"] for hook in api.project_hooks()}
        assert len(api.project_hooks()) == 26
        assert ours[0]["push_events"] is True and ours[0]["wiki_page_events"] is False
        assert ours[0]["_token"] == HOOK_TOKEN
        methods = [c.method for c in api.calls]
        assert methods == ["GET", "GET", "PUT", "DELETE"]
        assert "POST" not in methods and api.refused == []
    finally:
        await runtime.stop()
    # A restart (not a removal) keeps the hook: one hook, the same one.
    runtime = await start_gateway(tmp_path / "registry.yaml", tmp_path)
    try:
        await wait_until(lambda: status_of(runtime, "project").state == "running", 10)
        assert [h["id"] for h in api.project_hooks() if h["url"] == url] == [old["id"]]
    finally:
        await runtime.stop()
    assert [h["id"] for h in api.project_hooks() if h["url"] == url] == [old["id"]]


async def test_changed_events_update_the_hook(gateway: Gateway, api: GitLabAPI) -> None:
    [hook] = api.project_hooks()
    docs = gateway.documents
    source = docs[0]["data"]["project"].replace("- ReleasesEvents\n", "- WikiPageEvents\n")
    assert source != docs[0]["data"]["project"]
    docs[0]["data"]["project"] = source
    gateway.rewrite(*docs)
    await wait_until(lambda: api.project_hooks()[0]["wiki_page_events"] is True, 10)
    [updated] = api.project_hooks()
    assert updated["id"] == hook["id"] and updated["releases_events"] is False
    assert api.refused == []


async def test_removed_source_deletes_its_hook(gateway: Gateway, api: GitLabAPI) -> None:
    assert len(api.project_hooks()) == 1
    docs = gateway.documents
    del docs[0]["data"]["project"]
    gateway.rewrite(*docs)
    await wait_until(lambda: api.project_hooks() == [], 10)
    await wait_until(lambda: not listed(gateway.runtime, "project"), 10)
    assert [c.method for c in api.calls][-2:] == ["GET", "DELETE"]
    assert api.refused == []


async def test_removed_source_keeps_its_hook_unless_asked(
    tmp_path: Path, api: GitLabAPI, watcher: RecordingWatcher, secrets: None
) -> None:
    gateway = await start(tmp_path, api, watcher, deleteHookOnFinish=False)
    try:
        await wait_until(lambda: status_of(gateway.runtime, "project").state == "running", 10)
        docs = gateway.documents
        del docs[0]["data"]["project"]
        gateway.rewrite(*docs)
        await wait_until(lambda: not listed(gateway.runtime, "project"), 10)
        assert len(api.project_hooks()) == 1
        assert "DELETE" not in [c.method for c in api.calls]
    finally:
        await gateway.runtime.stop()


async def test_registration_failures_are_retried_while_the_endpoint_serves(
    tmp_path: Path, api: GitLabAPI, watcher: RecordingWatcher, secrets: None
) -> None:
    api.fail_next = 10**6  # GitLab answers 503 until told otherwise
    gateway = await start(tmp_path, api, watcher)
    try:
        await wait_until(lambda: status_of(gateway.runtime, "project").state == "degraded", 10)
        reason = status_of(gateway.runtime, "project").reason
        assert "hook registration" in reason and "cannot list the hooks: 503" in reason
        body, sent = delivery(PUSH)
        assert (await post(gateway.hook_url(), body, sent))[0] == 200  # receiving works
        await wait_until(lambda: len(api.calls) >= 2, 10)  # retried
        api.fail_next = 0
        await wait_until(lambda: status_of(gateway.runtime, "project").state == "running", 20)
        assert len(api.project_hooks()) == 1 and api.refused == []
    finally:
        await gateway.runtime.stop()


async def test_refused_access_token_is_shown(
    tmp_path: Path,
    api: GitLabAPI,
    watcher: RecordingWatcher,
    secrets: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GITLAB_API_TOKEN", "glpat-revoked")
    gateway = await start(tmp_path, api, watcher)
    try:
        await wait_until(lambda: status_of(gateway.runtime, "project").state == "degraded", 10)
        reason = status_of(gateway.runtime, "project").reason
        assert "cannot list the hooks: 401 Unauthorized" in reason
        assert "glpat-revoked" not in reason
        body, sent = delivery(PUSH)
        assert (await post(gateway.hook_url(), body, sent))[0] == 200
        assert api.project_hooks() == []
    finally:
        await gateway.runtime.stop()


async def test_project_by_path(
    tmp_path: Path, api: GitLabAPI, watcher: RecordingWatcher, secrets: None
) -> None:
    gateway = await start(tmp_path, api, watcher, projectId="group/project")
    try:
        await wait_until(lambda: status_of(gateway.runtime, "project").state == "running", 10)
        assert len(api.project_hooks("group/project")) == 1
        assert {c.path for c in api.calls} == {"/api/v4/projects/group%2Fproject/hooks"}
    finally:
        await gateway.runtime.stop()
