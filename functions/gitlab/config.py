"""GitLab source config: the seed era's fields (``projectId``, ``hook``, ``event``,
``accessToken``, ``enableSSLVerification``, ``gitlabBaseUrl``) and the later ones users expect
(``events``, ``secretToken``, ``deleteHookOnFinish``).

Event names are taken in any of GitLab's three spellings of one event: the hook setting as the
Go client and the seed era named it (``PushEvents``), the project-hooks API attribute
(``push_events``) and the ``X-Gitlab-Event`` header value (``Push Hook``); ``*`` is every event.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateways.config.common import SecretRef
from gateways.config.fields import Fields
from gateways.hooks.endpoint import HookEndpoint

DEFAULT_BASE_URL = "https://gitlab.com"
EVERY_EVENT = "*"


@dataclass(frozen=True, slots=True)
class HookEvent:
    """One event a project hook can subscribe to: its API attribute and the headers it sends."""

    attribute: str  # the project-hooks API flag, e.g. ``push_events``
    headers: tuple[str, ...]  # X-Gitlab-Event values it arrives with, e.g. ``Push Hook``

    @property
    def setting(self) -> str:
        """The Go client's (and the seed era's) name: ``push_events`` -> ``PushEvents``."""
        return "".join(word.capitalize() for word in self.attribute.split("_"))


# The event flags of GitLab's "Add a webhook to a project" API (doc/api/project_webhooks.md),
# each with the header of webhook_events.md it arrives with.
EVENTS: tuple[HookEvent, ...] = (
    HookEvent("push_events", ("Push Hook",)),
    HookEvent("tag_push_events", ("Tag Push Hook",)),
    HookEvent("issues_events", ("Issue Hook",)),
    HookEvent("confidential_issues_events", ("Confidential Issue Hook",)),
    HookEvent("note_events", ("Note Hook",)),
    HookEvent("confidential_note_events", ("Confidential Note Hook",)),
    HookEvent("merge_requests_events", ("Merge Request Hook",)),
    HookEvent("job_events", ("Job Hook", "Build Hook")),  # "Build Hook" before GitLab 9.3
    HookEvent("pipeline_events", ("Pipeline Hook",)),
    HookEvent("wiki_page_events", ("Wiki Page Hook",)),
    HookEvent("deployment_events", ("Deployment Hook",)),
    HookEvent("releases_events", ("Release Hook",)),
    HookEvent("feature_flag_events", ("Feature Flag Hook",)),
    HookEvent("resource_access_token_events", ("Resource Access Token Hook",)),
)


def _key(name: str) -> str:
    return re.sub(r"[\s_-]+", "", name).lower()


_BY_NAME = {
    _key(spelling): event
    for event in EVENTS
    for spelling in (event.attribute, event.setting, *event.headers)
}


def find_event(name: str) -> HookEvent | None:
    """The event ``name`` spells (``PushEvents``, ``push_events``, ``Push Hook``), or None."""
    return _BY_NAME.get(_key(name))


@dataclass(frozen=True, slots=True)
class GitLabConfig:
    hook: HookEndpoint  # endpoint, port, TLS, maxPayloadSize and the public url GitLab posts to
    events: frozenset[str]  # API attributes subscribed to (``push_events``); all when ``every``
    every: bool = False  # ``*``: every event, including ones this table does not name
    project_id: str | None = None
    access_token: SecretRef | None = None  # GitLab API token: registers the project hook
    secret_token: SecretRef | None = None  # the hook's secret token, sent as X-Gitlab-Token
    enable_ssl_verification: bool = True
    gitlab_base_url: str = DEFAULT_BASE_URL
    delete_hook_on_finish: bool = False

    @property
    def registers(self) -> bool:
        return self.access_token is not None

    def accepts(self, header: str) -> bool:
        """Whether a delivery with ``X-Gitlab-Event: <header>`` is one this source takes."""
        if self.every:
            return True
        event = find_event(header)
        return event is not None and header in event.headers and event.attribute in self.events

    @classmethod
    def parse(cls, fields: Fields) -> GitLabConfig:
        hook = HookEndpoint.parse_hook(fields)
        events, every = _events(fields)
        project_id = fields.str("projectId")
        access_token = SecretRef.parse(fields, "accessToken")
        secret_token = SecretRef.parse(fields, "secretToken")
        ssl = fields.bool("enableSSLVerification", True)
        base_url = _base_url(fields)
        delete = fields.bool("deleteHookOnFinish")
        if access_token is not None:
            if not (project_id or "").strip():
                fields.problem("projectId", "is required to register the hook (accessToken is set)")
            if not hook.url:
                fields.problem("hook.url", "is required to register the hook (accessToken is set)")
        elif delete:
            fields.problem("deleteHookOnFinish", "needs accessToken (the hook is not registered)")
        return cls(
            hook,
            events,
            every,
            (project_id or "").strip() or None,
            access_token,
            secret_token,
            ssl,
            base_url,
            delete,
        )


def _events(fields: Fields) -> tuple[frozenset[str], bool]:
    names = fields.str_list("events")
    single = fields.str("event")
    if single:
        names.append(single)
    if not names:
        fields.problem("events", "is required: one or more events, e.g. PushEvents, or '*'")
        return frozenset(), False
    attributes, every = set(), False
    for name in names:
        if name.strip() == EVERY_EVENT:
            every = True
            continue
        event = find_event(name)
        if event is None:
            known = ", ".join(e.setting for e in EVENTS)
            fields.problem(
                "event" if name == single else "events", f"{name!r} is not one of {known}"
            )
        else:
            attributes.add(event.attribute)
    if every:
        return frozenset(e.attribute for e in EVENTS), True
    return frozenset(attributes), False


def _base_url(fields: Fields) -> str:
    seed = fields.str("gitlabBaseUrl")
    later = fields.str("gitlabBaseURL")  # Argo Events v1's spelling
    if seed and later:
        fields.problem("gitlabBaseURL", "give gitlabBaseUrl or gitlabBaseURL, not both")
    text = (seed or later or "").strip().rstrip("/")
    # Checked when registering, not here: the seed era's example holds "YOUR_GITLAB_URL".
    return text or DEFAULT_BASE_URL
