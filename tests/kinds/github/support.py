"""What the GitHub end-to-end tests share: deliveries signed and posted the way GitHub's
Hookshot does it, the expected CloudEvent attributes, and registry files."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp

from tests.kit import configmap, write_registry

SECRET = "It's a Secret to Everybody"  # the tests' webhook secret (GitHub's docs use it)
SECRET_ENV = {"GITHUB_ACCESS_SECRET": SECRET}  # {name: github-access, key: secret}
HOOK_ID = "292430182"
GATEWAY = "github-gateway"
FORM = "application/x-www-form-urlencoded"


def signature(body: bytes, key: str = SECRET, algorithm: str = "sha256") -> str:
    return f"{algorithm}=" + hmac.new(key.encode(), body, getattr(hashlib, algorithm)).hexdigest()


def delivery(
    event: str,
    payload: dict[str, Any],
    *,
    form: bool = False,
    key: str = SECRET,
    delivery_id: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    """A body and the headers GitHub sends with it (both signature headers, as GitHub does)."""
    text = json.dumps(payload, separators=(",", ":"))
    body = urlencode({"payload": text}).encode() if form else text.encode()
    headers = {
        "User-Agent": "GitHub-Hookshot/044aadd",
        "Content-Type": FORM if form else "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery_id or str(uuid.uuid4()),
        "X-GitHub-Hook-ID": HOOK_ID,
        "X-GitHub-Hook-Installation-Target-Type": "repository",
        "X-GitHub-Hook-Installation-Target-ID": "79929171",
        "X-Hub-Signature": signature(body, key, "sha1"),
        "X-Hub-Signature-256": signature(body, key),
    }
    return body, headers


async def post(
    session: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    async with session.post(url, data=body, headers=headers) as reply:
        text = await reply.read()
        try:
            answer = json.loads(text) if text else {}
        except ValueError:
            answer = {"text": text.decode(errors="replace")}
        return reply.status, answer


def expected_type(event: str, payload: dict[str, Any]) -> str:
    """The documented type: ``dev.gateways.github.<event>[.<action>]``."""
    action = payload.get("action")
    if isinstance(action, str) and re.fullmatch(r"[A-Za-z0-9_-]{1,64}", action):
        return f"dev.gateways.github.{event}.{action}"
    return f"dev.gateways.github.{event}"


def expected_subject(payload: dict[str, Any]) -> str | None:
    repository = payload.get("repository") or {}
    organization = payload.get("organization") or {}
    return repository.get("full_name") or organization.get("login")


def source(port: int, endpoint: str = "/push", **fields: Any) -> dict[str, Any]:
    """A receive-only GitHub source in the seed era's shape."""
    return {
        "owner": "octo-org",
        "repository": "hello-world",
        "hook": {"endpoint": endpoint, "port": port},
        "events": ["*"],
        "webHookSecret": {"name": "github-access", "key": "secret"},
        **fields,
    }


def registry(
    tmp_path: Path,
    watcher_url: str,
    sources: dict[str, dict[str, Any]],
    delivery: dict[str, Any] | None = None,
    **more: Any,
) -> Path:
    """A registry file with one GitHub gateway (and ConfigMaps of other kinds in ``more``)."""
    documents = [configmap(GATEWAY, "github", sources, [watcher_url], delivery)]
    for name, (kind, entries) in more.items():
        documents.append(configmap(name, kind, entries, watchers=[watcher_url]))
    return write_registry(tmp_path / "registry.yaml", *documents)
