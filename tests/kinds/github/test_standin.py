"""The stand-in GitHub API really refuses what GitHub's REST description does not allow, so the
registration tests' "no violation" means something."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
from github import Auth, Github, GithubException

from tests.kinds.github.conftest import API_TOKEN
from tests.kinds.github.openapi import json_schema
from tests.kinds.github.standin import GitHubStandIn

pytestmark = pytest.mark.timeout(60)
TOKEN = {"Authorization": f"token {API_TOKEN}", "Content-Type": "application/json"}
HOOKS = "/repos/octo-org/hello-world/hooks"
GOOD = {"name": "web", "config": {"url": "https://a.example.com/", "content_type": "json"}}


async def call(
    api: GitHubStandIn,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
) -> tuple[int, Any]:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            method, api.base_url + path, data=data, headers=TOKEN if headers is None else headers
        ) as reply,
    ):
        text = await reply.read()
        return reply.status, json.loads(text) if text else None


async def test_allowed_requests_pass(github_api: GitHubStandIn) -> None:
    status, created = await call(github_api, "POST", HOOKS, GOOD)
    assert status == 201 and created["config"]["url"] == "https://a.example.com/"
    assert (await call(github_api, "GET", f"{HOOKS}/{created['id']}"))[0] == 200
    assert (await call(github_api, "GET", HOOKS + "?per_page=100&page=1"))[0] == 200
    patch = {"events": ["issues"], "add_events": ["push"], "active": False}
    assert (await call(github_api, "PATCH", f"{HOOKS}/{created['id']}", patch))[0] == 200
    assert (await call(github_api, "DELETE", f"{HOOKS}/{created['id']}"))[0] == 204
    assert github_api.violations == [] and github_api.self_check == []


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "problem"),
    [
        ("GET", "/repos/octo-org/hello-world/hookz", None, 404, "not in the description"),
        ("PUT", HOOKS, GOOD, 404, "not in the description"),
        ("GET", HOOKS + "?limit=5", None, 422, "query parameter 'limit' is not in"),
        ("GET", HOOKS + "?per_page=many", None, 422, "query parameter per_page"),
        ("GET", HOOKS + "/12ab", None, 422, "path parameter hook_id"),
        ("POST", HOOKS, {**GOOD, "events": "push"}, 422, "request body: events"),
        ("POST", HOOKS, {**GOOD, "active": "yes"}, 422, "request body: active"),
        ("POST", HOOKS, {**GOOD, "colour": "red"}, 422, "'colour' was unexpected"),
        ("POST", HOOKS, {"config": {"url": 5}}, 422, "request body: config/url"),
        ("POST", "/orgs/octo-org/hooks", {"config": {"url": "u"}}, 422, "'name' is a required"),
        ("PATCH", HOOKS + "/1", {"name": "web"}, 422, "'name' was unexpected"),
        ("DELETE", HOOKS + "/1", {"x": 1}, 422, "takes no request body"),
    ],
)
async def test_what_the_description_does_not_allow_is_refused(
    github_api: GitHubStandIn, method: str, path: str, body: Any, status: int, problem: str
) -> None:
    answered, answer = await call(github_api, method, path, body)
    assert answered == status, answer
    assert problem in answer["message"], answer["message"]
    [violation] = github_api.violations
    assert any(problem in text for text in violation.problems)


async def test_a_body_that_is_not_json_and_a_path_outside_the_api(
    github_api: GitHubStandIn,
) -> None:
    assert (await call(github_api, "POST", HOOKS, raw=b"{oops"))[0] == 400
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{github_api.port}/repos/a/b/hooks") as reply,
    ):
        assert reply.status == 404  # the API lives under /api/v3 (GitHub Enterprise style)
    assert len(github_api.violations) == 2


async def test_credentials_and_duplicates_are_refused_as_github_does(
    github_api: GitHubStandIn,
) -> None:
    assert (await call(github_api, "GET", HOOKS, headers={}))[0] == 401
    assert (await call(github_api, "GET", HOOKS, headers={"Authorization": "token x"}))[0] == 401
    assert (await call(github_api, "POST", HOOKS, GOOD))[0] == 201
    status, answer = await call(github_api, "POST", HOOKS, GOOD)
    assert status == 422 and "Hook already exists" in answer["errors"][0]["message"]
    assert (await call(github_api, "GET", "/repos/octo-org/elsewhere/hooks"))[0] == 404
    assert github_api.violations == [] and github_api.self_check == []


async def test_pygithubs_own_hook_edit_is_outside_the_description(
    github_api: GitHubStandIn,
) -> None:
    """Why the client PATCHes through PyGithub's requester: ``Hook.edit`` sends ``name``,
    which the repository hook update does not take."""
    hook = github_api.add_hook("repos/octo-org/hello-world", "https://a.example.com/")

    def edit() -> None:
        github = Github(
            auth=Auth.Token(API_TOKEN), base_url=github_api.base_url, retry=None, lazy=True
        )
        found = next(iter(github.get_repo("octo-org/hello-world").get_hooks()))
        assert found.id == hook.id
        found.edit("web", {"url": "https://a.example.com/"}, events=["push"])

    with pytest.raises(GithubException) as caught:
        await asyncio.to_thread(edit)
    assert caught.value.status == 422
    [violation] = github_api.violations
    assert violation.operation == "repos/update-webhook"


def test_nullable_becomes_a_null_alternative_and_request_objects_are_closed() -> None:
    schema = {"type": "object", "nullable": True, "properties": {"a": {"type": "string"}}}
    assert json_schema(schema) == {
        "anyOf": [{"type": "object", "properties": {"a": {"type": "string"}}}, {"type": "null"}]
    }
    closed = json_schema(schema, closed=True)
    assert closed["anyOf"][0]["additionalProperties"] is False
