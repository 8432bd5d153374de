"""GitHub source config: the seed era's fields (``owner``, ``repository``, ``hook``, ``events``,
``apiToken``, ``webHookSecret``, ``insecure``, ``active``, ``contentType``) and what later
generations added (``organization``, ``githubBaseURL``, ``deleteHookOnFinish``, the legacy
sha1 signature switch, the registration ``backoff``).

The hook is registered upstream only when ``apiToken`` is given; without it the source only
receives (the hook is managed by hand), and ``webHookSecret`` is always required: an endpoint
that checks no signature would take anyone's events.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass

from gateways.config.common import Backoff, SecretRef, parse_url
from gateways.config.fields import Fields
from gateways.hooks.endpoint import HookEndpoint
from gateways.hooks.source import REGISTRATION_BACKOFF

DEFAULT_BASE_URL = "https://api.github.com"
GITHUB_MAX_PAYLOAD = 25 << 20  # GitHub caps a delivery at 25 MB
CONTENT_TYPES = ("json", "form")
_EVENT = re.compile(r"[a-z0-9_]{1,64}")
_OWNER = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})")
_REPOSITORY = re.compile(r"[A-Za-z0-9._-]{1,100}")


@dataclass(frozen=True, slots=True)
class GitHubConfig:
    hook: HookEndpoint  # the seed era's ``hook`` mapping: endpoint, port, url, TLS
    events: tuple[str, ...]  # event names, or "*" for every event
    webhook_secret: SecretRef
    api_token: SecretRef | None = None
    owner: str | None = None
    repository: str | None = None
    organization: str | None = None
    insecure: bool = False
    active: bool = True
    content_type: str = "json"
    base_url: str = DEFAULT_BASE_URL
    delete_hook_on_finish: bool = False
    allow_sha1_signature: bool = False
    backoff: Backoff = REGISTRATION_BACKOFF  # 1 s doubling, at most a minute, for ever

    @property
    def registers(self) -> bool:
        """Whether the hook is made sure of upstream (an API token was given)."""
        return self.api_token is not None

    @property
    def target(self) -> str:
        """Where the hook lives, for logs and status: ``owner/repo`` or ``org <name>``."""
        if self.organization:
            return f"organization {self.organization}"
        return f"repository {self.owner}/{self.repository}"

    def subscribes(self, event: str) -> bool:
        return "*" in self.events or event in self.events

    @classmethod
    def parse(cls, fields: Fields) -> GitHubConfig:
        hook = _hook(fields)
        owner = _name(fields, "owner", _OWNER)
        repository = _name(fields, "repository", _REPOSITORY)
        organization = _name(fields, "organization", _OWNER)
        events = _events(fields)
        secret = _webhook_secret(fields)
        token = SecretRef.parse(fields, "apiToken")
        insecure = fields.bool("insecure")
        active = fields.bool("active", True)
        content_type = fields.choice("contentType", CONTENT_TYPES, "json") or "json"
        base_url = parse_url(fields, "githubBaseURL", ("http", "https"), required=False)
        delete = fields.bool("deleteHookOnFinish")
        sha1 = fields.bool("allowSha1Signature")
        backoff = Backoff.parse(fields)
        if bool(owner) != bool(repository):
            fields.problem("repository" if owner else "owner", "owner and repository go together")
        if organization and (owner or repository):
            fields.problem("organization", "give owner and repository, or organization, not both")
        if token is not None:
            if not hook.url:
                fields.problem("hook.url", "is required to register the hook (apiToken is set)")
            if not (organization or (owner and repository)):
                fields.problem("owner", "owner and repository (or organization) name the hook")
        elif delete:
            fields.problem("deleteHookOnFinish", "needs apiToken (nothing is registered without)")
        return cls(
            hook=hook,
            events=events,
            webhook_secret=secret or SecretRef(),
            api_token=token,
            owner=owner,
            repository=repository,
            organization=organization,
            insecure=insecure,
            active=active,
            content_type=content_type,
            base_url=(base_url or DEFAULT_BASE_URL).rstrip("/"),
            delete_hook_on_finish=delete,
            allow_sha1_signature=sha1,
            backoff=backoff,
        )


def _hook(fields: Fields) -> HookEndpoint:
    hook = HookEndpoint.parse_hook(fields)
    raw = fields.get("hook")
    if isinstance(raw, Mapping) and raw.get("maxPayloadSize") is None:
        hook = dataclasses.replace(hook, max_payload_size=GITHUB_MAX_PAYLOAD)
    return hook


def _name(fields: Fields, name: str, pattern: re.Pattern[str]) -> str | None:
    value = fields.str(name, max_length=100)
    if value is None:
        return None
    value = value.strip()
    if not pattern.fullmatch(value):
        fields.problem(name, f"{value!r} is not a GitHub {name} name")
        return None
    return value


def _events(fields: Fields) -> tuple[str, ...]:
    if not fields.has("events"):
        fields.problem("events", "is required (event names such as push, or '*' for all)")
        return ()
    names = [name.strip() for name in fields.str_list("events")]
    if not names and isinstance(fields.get("events"), list):
        fields.problem("events", "must name at least one event (or '*' for all)")
    for name in names:
        if name != "*" and not _EVENT.fullmatch(name):
            fields.problem("events", f"{name!r} is not a GitHub event name (or '*')")
    return tuple(dict.fromkeys(names))


def _webhook_secret(fields: Fields) -> SecretRef | None:
    seed = SecretRef.parse(fields, "webHookSecret")
    later = SecretRef.parse(fields, "webhookSecret")  # the spelling of later Argo releases
    if seed is not None and later is not None:
        fields.problem("webhookSecret", "give webHookSecret or webhookSecret, not both")
    found = seed or later
    if found is None and not fields.has("webhookSecret") and not fields.has("webHookSecret"):
        fields.problem(
            "webHookSecret",
            "is required (GitHub signs every delivery with it; unsigned requests are refused)",
        )
    return found
