"""A local stand-in for GitLab's project webhooks API, as GitLab documents it.

Source: https://docs.gitlab.com/api/project_webhooks/ (doc/api/project_webhooks.md in
gitlab-org/gitlab): list, get, add, edit and delete a project webhook under
``/api/v4/projects/:id/hooks``, with ``PRIVATE-TOKEN`` authentication
(https://docs.gitlab.com/api/rest/authentication/) and offset pagination (``page``,
``per_page``, ``X-Next-Page`` and ``Link`` headers; https://docs.gitlab.com/api/rest/#pagination).

Anything the documentation does not allow is answered 4xx and recorded in ``refused``: an
unknown path or method, an attribute the endpoint does not take, a value of the wrong type, a
missing ``url`` (required on add and on edit), a hook id that is not an integer. The token is
kept but never returned, as on GitLab; editing the URL resets it.
"""

from __future__ import annotations

import itertools
import json
import socket
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from aiohttp import web

TOKEN = "glpat-stand-in-token"
EVENT_FLAGS = (
    "confidential_issues_events",
    "confidential_note_events",
    "deployment_events",
    "feature_flag_events",
    "issues_events",
    "job_events",
    "merge_requests_events",
    "note_events",
    "pipeline_events",
    "push_events",
    "releases_events",
    "tag_push_events",
    "wiki_page_events",
    "resource_access_token_events",
)
# "Add a webhook to a project" / "Edit a project webhook": attribute -> documented type.
ATTRIBUTES: dict[str, str] = {
    "url": "string",
    "name": "string",
    "description": "string",
    "enable_ssl_verification": "boolean",
    "push_events_branch_filter": "string",
    "branch_filter_strategy": "string",
    "token": "string",
    "custom_webhook_template": "string",
    "custom_headers": "array",
    **dict.fromkeys(EVENT_FLAGS, "boolean"),
}
BRANCH_FILTER_STRATEGIES = ("wildcard", "regex", "all_branches")
LIST_PARAMETERS = ("page", "per_page")


class Refusal(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(f"{status} {message}")


@dataclass
class Call:
    method: str
    path: str
    query: str
    body: Any
    status: int = 0


@dataclass
class GitLabAPI:
    """Projects ``1`` and ``group/project``; ``fail_next`` answers the next calls 503."""

    projects: tuple[str, ...] = ("1", "group/project")
    token: str = TOKEN
    hooks: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    fail_next: int = 0
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _runner: web.AppRunner | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def project_hooks(self, project: str = "1") -> list[dict[str, Any]]:
        return list(self.hooks.get(project, {}).values())

    def add(self, project: str = "1", **attributes: Any) -> dict[str, Any]:
        """A hook made on GitLab by someone else (for update-in-place and pagination tests)."""
        return self._store(project, None, _checked(attributes))

    async def start(self) -> GitLabAPI:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ------------------------------------------------------------------ requests

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        call = Call(request.method, request.raw_path.split("?")[0], request.query_string, None)
        self.calls.append(call)
        response: web.StreamResponse
        try:
            if self.fail_next > 0:
                self.fail_next -= 1
                response = _json(503, {"message": "503 Service Unavailable"})
            else:
                response = self._route(request, raw, call)
        except Refusal as refusal:
            self.refused.append(f"{request.method} {call.path}: {refusal}")
            response = _json(refusal.status, {"message": refusal.message})
        call.status = response.status
        return response

    def _route(self, request: web.Request, raw: bytes, call: Call) -> web.StreamResponse:
        if request.headers.get("PRIVATE-TOKEN") != self.token:
            raise Refusal(401, "401 Unauthorized")
        segments = call.path.split("/")
        # ['', 'api', 'v4', 'projects', ':id', 'hooks', (':hook_id')]
        if segments[:4] != ["", "api", "v4", "projects"] or len(segments) not in (6, 7):
            raise Refusal(404, "404 Not Found")
        if segments[5] != "hooks":
            raise Refusal(404, "404 Not Found")
        project = unquote(segments[4])
        if project not in self.projects:
            raise Refusal(404, "404 Project Not Found")
        hooks = self.hooks.setdefault(project, {})
        if len(segments) == 6:
            if request.method == "GET":
                return self._list(request, hooks, raw)
            if request.method == "POST":
                attributes = _checked(_attributes(request, raw, call))
                return _json(201, _public(self._store(project, None, attributes)))
            raise Refusal(405, "405 Method Not Allowed")
        try:
            hook_id = int(segments[6])
        except ValueError:
            raise Refusal(400, "hook_id is invalid") from None
        if request.method not in ("GET", "PUT", "DELETE"):
            raise Refusal(405, "405 Method Not Allowed")
        hook = hooks.get(hook_id)
        if hook is None:
            raise Refusal(404, "404 Not found")
        if request.method == "GET":
            _no_parameters(request, raw)
            return _json(200, _public(hook))
        if request.method == "PUT":
            attributes = _checked(_attributes(request, raw, call))
            return _json(200, _public(self._store(project, hook, attributes)))
        _no_parameters(request, raw)
        del hooks[hook_id]
        return web.Response(status=204)

    def _list(
        self, request: web.Request, hooks: dict[int, dict[str, Any]], raw: bytes
    ) -> web.StreamResponse:
        if raw:
            raise Refusal(400, "a list request has no body")
        query = dict(parse_qsl(request.query_string, keep_blank_values=True))
        unknown = sorted(set(query) - set(LIST_PARAMETERS))
        if unknown:
            raise Refusal(400, f"{', '.join(unknown)} does not have a valid value")
        try:
            page = int(query.get("page", "1"))
            per_page = int(query.get("per_page", "20"))
        except ValueError:
            raise Refusal(400, "page or per_page is invalid") from None
        if page < 1 or not 1 <= per_page <= 100:
            raise Refusal(400, "page or per_page is invalid")
        ordered = [hooks[key] for key in sorted(hooks)]
        pages = max(1, -(-len(ordered) // per_page))
        chunk = ordered[(page - 1) * per_page : page * per_page]
        base = f"{self.url}{request.path}"
        headers = {
            "X-Page": str(page),
            "X-Per-Page": str(per_page),
            "X-Total": str(len(ordered)),
            "X-Total-Pages": str(pages),
            "X-Next-Page": str(page + 1) if page < pages else "",
            "X-Prev-Page": str(page - 1) if page > 1 else "",
        }
        links = [f'<{base}?page=1&per_page={per_page}>; rel="first"']
        if page < pages:
            links.insert(0, f'<{base}?page={page + 1}&per_page={per_page}>; rel="next"')
        headers["Link"] = ", ".join(links)
        return _json(200, [_public(hook) for hook in chunk], headers)

    def _store(
        self, project: str, hook: dict[str, Any] | None, attributes: dict[str, Any]
    ) -> dict[str, Any]:
        if hook is None:
            hook_id = next(self._ids)
            hook = {
                "id": hook_id,
                "project_id": int(project) if project.isdigit() else 99,
                "name": None,
                "description": None,
                **{flag: flag == "push_events" for flag in EVENT_FLAGS},  # GitLab's defaults
                "push_events_branch_filter": "",
                "branch_filter_strategy": "wildcard",
                "enable_ssl_verification": True,
                "repository_update_events": False,
                "alert_status": "executable",
                "disabled_until": None,
                "url_variables": [],
                "created_at": "2026-01-01T00:00:00Z",
                "custom_webhook_template": None,
                "custom_headers": [],
                "_token": None,
            }
            self.hooks.setdefault(project, {})[hook_id] = hook
        elif attributes["url"] != hook["url"]:
            hook["_token"] = None  # "When you change the webhook URL, the secret token is reset"
        for name, value in attributes.items():
            hook["_token" if name == "token" else name] = value
        return hook


def _attributes(request: web.Request, raw: bytes, call: Call) -> dict[str, Any]:
    """The request's attributes: a JSON object body, or a form body / query (strings)."""
    attributes: dict[str, Any] = dict(parse_qsl(request.query_string, keep_blank_values=True))
    if raw:
        media = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if media == "application/json":
            try:
                body = json.loads(raw)
            except ValueError:
                raise Refusal(400, "body is not valid JSON") from None
            if not isinstance(body, dict):
                raise Refusal(400, "body must be a JSON object")
            attributes.update(body)
        elif media == "application/x-www-form-urlencoded":
            attributes.update(parse_qsl(raw.decode(), keep_blank_values=True))
        else:
            raise Refusal(415, f"415 Unsupported Media Type {media!r}")
    call.body = {k: ("[token]" if k == "token" else v) for k, v in attributes.items()}
    return attributes


def _checked(attributes: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(attributes) - set(ATTRIBUTES))
    if unknown:
        raise Refusal(400, f"{', '.join(unknown)} does not have a valid value")
    if "url" not in attributes:
        raise Refusal(400, "url is missing")
    checked: dict[str, Any] = {}
    for name, value in attributes.items():
        kind = ATTRIBUTES[name]
        if kind == "boolean":
            if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
                value = value.lower() in ("true", "1")
            if not isinstance(value, bool):
                raise Refusal(400, f"{name} is invalid")
        elif kind == "string":
            if not isinstance(value, str):
                raise Refusal(400, f"{name} is invalid")
        elif not isinstance(value, list) or not all(
            isinstance(item, dict) and set(item) <= {"key", "value"} for item in value
        ):
            raise Refusal(400, f"{name} is invalid")
        checked[name] = value
    parts = urlsplit(checked["url"])
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refusal(422, "Invalid url given")
    strategy = checked.get("branch_filter_strategy")
    if strategy is not None and strategy not in BRANCH_FILTER_STRATEGIES:
        raise Refusal(400, "branch_filter_strategy does not have a valid value")
    return checked


def _no_parameters(request: web.Request, raw: bytes) -> None:
    if raw or request.query_string:
        raise Refusal(400, "this request takes no parameters")


def _public(hook: dict[str, Any]) -> dict[str, Any]:
    """The hook as GitLab answers it: never the token."""
    return {key: value for key, value in hook.items() if not key.startswith("_")}


def _json(status: int, document: Any, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(document).encode(),
        content_type="application/json",
        headers=headers,
    )
