"""The project hook on GitLab, through python-gitlab and GitLab's project-hooks API
(``/api/v4/projects/:id/hooks``): made to exist as configured, and deleted.

Calls block (python-gitlab uses requests); the source runs them on a worker thread. Every
failure is a :class:`GitLabError` naming the call and GitLab's answer, never the token.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import gitlab
import requests

from functions.gitlab.config import EVENTS
from gateways.errors import GatewayError

log = logging.getLogger(__name__)
TIMEOUT = 10.0  # seconds per API call


class GitLabError(GatewayError):
    """A project-hooks API call failed (GitLab refused it, or GitLab could not be reached)."""


@dataclass(frozen=True, slots=True)
class HookSpec:
    """The hook as it must be on GitLab."""

    url: str
    events: frozenset[str]  # API attributes set true; every other event flag is set false
    token: str | None = None
    enable_ssl_verification: bool = True

    def attributes(self) -> dict[str, Any]:
        """The create/edit request body: every event flag, so a dropped event is turned off."""
        body: dict[str, Any] = {"url": self.url}
        for event in EVENTS:
            body[event.attribute] = event.attribute in self.events
        body["enable_ssl_verification"] = self.enable_ssl_verification
        if self.token is not None:
            body["token"] = self.token
        return body


@dataclass(frozen=True, slots=True)
class Outcome:
    action: str  # "created" or "updated"
    hook_id: int
    removed_duplicates: int = 0


class ProjectHooks:
    """The hooks of one project on one GitLab (``base_url`` as ``https://gitlab.example.com``)."""

    def __init__(
        self, base_url: str, private_token: str, project: str, timeout: float = TIMEOUT
    ) -> None:
        self.base_url = api_base(base_url)
        self.project_ref = project
        self._gitlab = gitlab.Gitlab(self.base_url, private_token=private_token, timeout=timeout)
        # lazy: no GET /projects/:id, only the hooks endpoints are called
        self._project = self._gitlab.projects.get(project, lazy=True)

    def ensure(self, spec: HookSpec) -> Outcome:
        """Create the hook, or update the one with the same URL in place (others with that URL,
        duplicates from earlier runs, are deleted)."""
        same = [hook for hook in self._list() if getattr(hook, "url", None) == spec.url]
        attributes = spec.attributes()
        if not same:
            created = self._call("create the hook", self._project.hooks.create, attributes)
            return Outcome("created", int(created.id))
        keep, *duplicates = sorted(same, key=lambda hook: int(hook.id))
        self._call("update the hook", self._project.hooks.update, keep.id, attributes)
        for duplicate in duplicates:
            self._call("delete a duplicate hook", self._project.hooks.delete, duplicate.id)
        return Outcome("updated", int(keep.id), len(duplicates))

    def delete(self, url: str) -> int:
        """Delete every hook of the project with this URL; how many there were."""
        same = [hook for hook in self._list() if getattr(hook, "url", None) == url]
        for hook in same:
            self._call("delete the hook", self._project.hooks.delete, hook.id)
        return len(same)

    def _list(self) -> list[Any]:
        found: list[Any] = self._call("list the hooks", self._project.hooks.list, get_all=True)
        return found

    def _call(self, what: str, call: Any, *args: Any, **kwargs: Any) -> Any:
        where = f"GitLab {self.base_url} project {self.project_ref}"
        try:
            return call(*args, **kwargs)
        except gitlab.exceptions.GitlabError as exc:
            message = str(exc.error_message or "").strip() or type(exc).__name__
            code = str(exc.response_code or "")
            shown = message if message.startswith(code) else f"{code} {message}".strip()
            raise GitLabError(f"{where}: cannot {what}: {shown}") from None
        except requests.RequestException as exc:
            raise GitLabError(f"{where}: cannot {what}: {_short(exc)}") from None


def api_base(text: str) -> str:
    """The instance URL python-gitlab wants (it adds ``/api/v4`` itself)."""
    url = text.strip().rstrip("/").removesuffix("/api/v4")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise GitLabError(f"gitlabBaseUrl {text!r} is not an http or https URL")
    return url


def _short(exc: BaseException) -> str:
    """A requests error in a line: its type and the innermost reason."""
    reason: BaseException = exc
    while reason.__context__ is not None and reason.__context__ is not reason:
        reason = reason.__context__
    text = str(reason).strip() or type(reason).__name__
    return f"{type(exc).__name__}: {text[:200]}"
