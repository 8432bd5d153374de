"""A local stand-in for GitHub's webhook API: repository and organization hooks (list, get,
create, update, delete), served under a GitHub Enterprise-style prefix (``/api/v3``).

Every request is first checked against GitHub's REST description (:mod:`.openapi`): a path or
method the description lacks is a 404, a missing or wrong token a 401, any parameter or body
the operation does not allow a 400/422. Each such refusal is kept in ``violations``; a request
the description allows but the stand-in does not implement is a 501 kept in ``unimplemented``.
Its own answers are checked against the description too (``self_check``). Like GitHub, it
refuses a second hook with the same URL (422 "Hook already exists"). ``fail(500)`` makes it
answer every (valid) request with that status until ``recover()``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from tests.kinds.github.openapi import Description, Operation
from tests.servicekit import free_port

DOCS = "https://docs.github.com/rest/webhooks/repos"
Answer = tuple[int, Any, dict[str, str]]


@dataclass(frozen=True)
class Call:
    method: str
    path: str  # without the prefix
    query: dict[str, list[str]]
    body: Any
    operation: str | None
    status: int
    problems: tuple[str, ...] = ()


@dataclass
class StoredHook:
    id: int
    scope: str  # "repos/<owner>/<repo>" or "orgs/<org>"
    config: dict[str, Any]  # with the real secret
    events: list[str]
    active: bool
    created_at: str
    updated_at: str
    name: str = "web"

    @property
    def url(self) -> str:
        return str(self.config.get("url"))


@dataclass
class GitHubStandIn:
    description: Description
    token: str
    repositories: tuple[str, ...] = ("octo-org/hello-world",)
    organizations: tuple[str, ...] = ("octo-org",)
    prefix: str = "/api/v3"
    port: int = field(default_factory=free_port)
    calls: list[Call] = field(default_factory=list)
    hooks: dict[int, StoredHook] = field(default_factory=dict)
    self_check: list[str] = field(default_factory=list)
    fault: int | None = None
    _runner: web.AppRunner | None = None
    _next_id: int = 1000

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.prefix}"

    @property
    def violations(self) -> list[Call]:
        return [call for call in self.calls if call.problems]

    @property
    def unimplemented(self) -> list[Call]:
        return [call for call in self.calls if call.status == 501]

    def operations(self) -> list[str]:
        return [call.operation or "?" for call in self.calls]

    def fail(self, status: int = 500) -> None:
        self.fault = status

    def recover(self) -> None:
        self.fault = None

    def hooks_of(self, scope: str) -> list[StoredHook]:
        return [hook for hook in self.hooks.values() if hook.scope == scope]

    def add_hook(self, scope: str, url: str, **values: Any) -> StoredHook:
        """A hook made beforehand (by hand, or by an earlier run)."""
        now = _now()
        config = {
            "url": url,
            "content_type": "form",
            "insecure_ssl": "0",
            **values.pop("config", {}),
        }
        self._next_id += 1
        hook = StoredHook(
            self._next_id,
            scope,
            config,
            values.get("events", ["push"]),
            values.get("active", True),
            now,
            now,
        )
        self.hooks[hook.id] = hook
        return hook

    async def start(self) -> GitHubStandIn:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ------------------------------------------------------------------ one request

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        query = {name: request.query.getall(name) for name in request.query}
        inside = request.path.startswith(self.prefix + "/")
        path = request.path[len(self.prefix) :] if inside else request.path
        operation, values = self.description.find(request.method, path) if inside else (None, {})
        problems: list[str] = []
        headers: dict[str, str] = {}
        if operation is None:
            problems = ["not in the description" if inside else "outside the API prefix"]
            status, answer = 404, _error("; ".join(problems))
        elif request.headers.get("Authorization") not in (
            f"token {self.token}",
            f"Bearer {self.token}",
        ):  # allowed by the description, refused by GitHub: no violation
            status, answer = 401, _error("Bad credentials")
        elif problems := operation.request_problems(values, query, body):
            status = 400 if any("not JSON" in p for p in problems) else 422
            answer = _error("; ".join(problems))
        else:
            status, answer, headers = self._answer(operation, values, query, _json_or_text(body))
            if status not in (501, self.fault):  # an injected fault is no GitHub answer
                self.self_check += operation.response_problems(status, answer)
        name = operation.operation_id if operation else None
        document = _json_or_text(body)
        self.calls.append(
            Call(request.method, path, query, document, name, status, tuple(problems))
        )
        if answer is None:
            return web.Response(status=status, headers=headers)
        return web.json_response(answer, status=status, headers=headers)

    def _answer(
        self,
        operation: Operation,
        values: dict[str, str],
        query: dict[str, list[str]],
        document: Any,
    ) -> Answer:
        if self.fault is not None:
            return self.fault, _error("Server Error"), {}
        handlers: dict[str, Callable[..., Answer]] = {
            f"{scope}/{name}": method
            for scope in ("repos", "orgs")
            for name, method in (
                ("list-webhooks", self._list_webhooks),
                ("create-webhook", self._create_webhook),
                ("get-webhook", self._get_webhook),
                ("update-webhook", self._update_webhook),
                ("delete-webhook", self._delete_webhook),
            )
        }
        handler = handlers.get(operation.operation_id)
        if handler is None:
            return 501, _error(f"{operation.operation_id}: not implemented by the stand-in"), {}
        scope = (
            f"repos/{values['owner']}/{values['repo']}"
            if "repo" in values
            else f"orgs/{values.get('org')}"
        )
        known = [f"repos/{name}" for name in self.repositories] + [
            f"orgs/{name}" for name in self.organizations
        ]
        if scope not in known:
            return 404, _error("Not Found"), {}
        if "hook_id" in values:
            hook = self.hooks.get(int(values["hook_id"]))
            if hook is None or hook.scope != scope:
                return 404, _error("Not Found"), {}
            return handler(hook, document)
        return handler(scope, query, document)

    # ------------------------------------------------------------------ the operations

    def _list_webhooks(self, scope: str, query: dict[str, list[str]], _: Any) -> Answer:
        per_page = int(query.get("per_page", ["30"])[0])
        page = int(query.get("page", ["1"])[0])
        every = sorted(self.hooks_of(scope), key=lambda hook: hook.id)
        shown = every[(page - 1) * per_page : page * per_page]
        last = max(1, -(-len(every) // per_page))
        links = []
        if page < last:
            links.append(
                f'<{self.base_url}/{scope}/hooks?per_page={per_page}&page={page + 1}>; rel="next"'
            )
            links.append(
                f'<{self.base_url}/{scope}/hooks?per_page={per_page}&page={last}>; rel="last"'
            )
        return (
            200,
            [self._render(hook) for hook in shown],
            {"Link": ", ".join(links)} if links else {},
        )

    def _create_webhook(self, scope: str, _: dict[str, list[str]], document: Any) -> Answer:
        document = document or {}
        config = dict(document.get("config") or {})
        if document.get("name", "web") != "web" or not config.get("url"):
            return _invalid("Hook", "config.url is required and name must be web")
        if any(hook.url == config["url"] for hook in self.hooks_of(scope)):
            where = "repository" if scope.startswith("repos/") else "organization"
            return _invalid("Hook", f"Hook already exists on this {where}")
        hook = self.add_hook(
            scope,
            config.pop("url"),
            config={"content_type": "form", **config},
            events=document.get("events", ["push"]),
            active=document.get("active", True),
        )
        rendered = self._render(hook)
        return 201, rendered, {"Location": rendered["url"]}

    def _get_webhook(self, hook: StoredHook, _: Any) -> Answer:
        return 200, self._render(hook), {}

    def _update_webhook(self, hook: StoredHook, document: Any) -> Answer:
        document = document or {}
        hook.config.update(document.get("config") or {})
        if "events" in document:
            hook.events = list(document["events"])
        hook.events += [e for e in document.get("add_events", []) if e not in hook.events]
        hook.events = [e for e in hook.events if e not in document.get("remove_events", [])]
        hook.active = document.get("active", hook.active)
        hook.updated_at = _now()
        return 200, self._render(hook), {}

    def _delete_webhook(self, hook: StoredHook, _: Any) -> Answer:
        del self.hooks[hook.id]
        return 204, None, {}

    def _render(self, hook: StoredHook) -> dict[str, Any]:
        url = f"{self.base_url}/{hook.scope}/hooks/{hook.id}"
        config = {key: value for key, value in hook.config.items() if key != "secret"}
        if hook.config.get("secret"):
            config["secret"] = "********"  # GitHub never shows the secret
        rendered: dict[str, Any] = {
            "type": "Repository" if hook.scope.startswith("repos/") else "Organization",
            "id": hook.id,
            "name": hook.name,
            "active": hook.active,
            "events": hook.events,
            "config": config,
            "updated_at": hook.updated_at,
            "created_at": hook.created_at,
            "url": url,
            "ping_url": f"{url}/pings",
            "deliveries_url": f"{url}/deliveries",
        }
        if hook.scope.startswith("repos/"):
            rendered["test_url"] = f"{url}/test"
            rendered["last_response"] = {"code": None, "status": "unused", "message": None}
        return rendered


def _error(message: str) -> dict[str, str]:
    return {"message": message, "documentation_url": DOCS}


def _invalid(resource: str, message: str) -> Answer:
    error = {"resource": resource, "code": "custom", "message": message}
    return 422, {"message": "Validation Failed", "errors": [error], "documentation_url": DOCS}, {}


def _json_or_text(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
