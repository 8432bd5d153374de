"""The GitHub REST API calls of hook registration, through PyGithub.

:func:`ensure_hook` makes sure the repository (or organization) webhook exists as configured:
it lists the hooks, updates the one whose ``config.url`` is the configured URL (so a restart
never adds a duplicate), else creates it. The update sends exactly the fields of GitHub's
"update a webhook" operation, through PyGithub's requester (authentication, base URL, errors).
:func:`delete_hook` deletes the hooks with that URL. Both are blocking (PyGithub is); the
source runs them on a worker thread. PyGithub's own retries are off: the source's supervisor
retries with the config's backoff and reports it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from github import Auth, Github
from github.Hook import Hook
from github.Organization import Organization
from github.Repository import Repository

from functions.github.config import GitHubConfig

_SECRET_FIELD = re.compile(r'("secret"\s*:\s*)"(?:[^"\\]|\\.)*"')
TIMEOUT = 10  # seconds per API request
USER_AGENT = "gateways-github-source"


class _MaskHookSecret(logging.Filter):
    """PyGithub logs each request's body at DEBUG level: never the hook's secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_masked(arg) for arg in record.args)
        return True


def _masked(value: Any) -> Any:
    if isinstance(value, str | bytes):  # the request body, as JSON text
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        return _SECRET_FIELD.sub(r'\1"********"', text)
    config = value.get("config") if isinstance(value, dict) else None
    if isinstance(config, dict) and "secret" in config:
        return {**value, "config": {**config, "secret": "********"}}
    return value


logging.getLogger("github.Requester").addFilter(_MaskHookSecret())


@dataclass(frozen=True, slots=True)
class HookSpec:
    """What the hook must look like upstream."""

    url: str
    events: tuple[str, ...]
    content_type: str  # json | form
    secret: str = field(repr=False)
    insecure: bool
    active: bool

    @classmethod
    def of(cls, config: GitHubConfig, secret: str) -> HookSpec:
        assert config.hook.url, "registration needs hook.url (checked by the schema)"
        return cls(
            config.hook.url,
            config.events,
            config.content_type,
            secret,
            config.insecure,
            config.active,
        )

    def hook_config(self) -> dict[str, str]:
        """The hook's ``config`` object, as the REST API takes it."""
        return {
            "url": self.url,
            "content_type": self.content_type,
            "secret": self.secret,
            "insecure_ssl": "1" if self.insecure else "0",
        }


def ensure_hook(config: GitHubConfig, token: str, spec: HookSpec) -> str:
    """Create or update the hook; returns what was done (for the log): ``created hook 12``."""
    with _client(config, token) as github:
        parent = _parent(github, config)
        # GitHub keeps one hook per URL ("Hook already exists" otherwise): ours, if any.
        hook = next((hook for hook in parent.get_hooks() if _url(hook) == spec.url), None)
        if hook is None:
            created = parent.create_hook("web", spec.hook_config(), list(spec.events), spec.active)
            return f"created hook {created.id}"
        _update(github, hook, spec)
        return f"updated hook {hook.id}"


def delete_hook(config: GitHubConfig, token: str, url: str) -> list[int]:
    """Delete every hook whose ``config.url`` is ``url``; returns their ids."""
    with _client(config, token) as github:
        parent = _parent(github, config)
        deleted = []
        for hook in [hook for hook in parent.get_hooks() if _url(hook) == url]:
            hook.delete()
            deleted.append(hook.id)
        return deleted


@contextmanager
def _client(config: GitHubConfig, token: str) -> Iterator[Github]:
    github = Github(
        auth=Auth.Token(token),
        base_url=config.base_url,
        timeout=TIMEOUT,
        user_agent=USER_AGENT,
        per_page=100,
        retry=None,
        seconds_between_requests=None,
        seconds_between_writes=None,
        lazy=True,
    )
    try:
        yield github
    finally:
        github.close()


def _update(github: Github, hook: Hook, spec: HookSpec) -> None:
    """PATCH the hook with the fields the REST description names for an update. (PyGithub's
    ``Hook.edit`` also sends ``name``, which the repository hook update does not take.)"""
    body = {"config": spec.hook_config(), "events": list(spec.events), "active": spec.active}
    github.requester.requestJsonAndCheck("PATCH", hook.url, input=body)


def _parent(github: Github, config: GitHubConfig) -> Repository | Organization:
    if config.organization:
        return github.get_organization(config.organization)
    return github.get_repo(f"{config.owner}/{config.repository}")


def _url(hook: Hook) -> str | None:
    url = (hook.config or {}).get("url")
    return url if isinstance(url, str) else None
