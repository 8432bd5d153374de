"""Fixtures of the GitHub tests: GitHub's example deliveries and REST description (npm packages
fetched into the services cache; see :mod:`.octokit`), and the stand-in GitHub API."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.kinds.github import octokit
from tests.kinds.github.openapi import Description
from tests.kinds.github.standin import GitHubStandIn

API_TOKEN = "ghp_standin-token"  # the stand-in's token, not a real one


def _unavailable(what: str, exc: Exception) -> None:
    """Fail under CI=true (a missing counterpart must never pass silently); skip elsewhere."""
    message = f"{what} unavailable ({exc}); fetch it with `python -m tests.kinds.github.octokit`"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def webhook_examples() -> list[dict[str, Any]]:
    """Every event type of ``@octokit/webhooks-examples``, each with its example payloads."""
    try:
        return octokit.examples()
    except (octokit.FetchError, OSError, ValueError) as exc:
        _unavailable(f"{octokit.EXAMPLES.name}@{octokit.EXAMPLES.version}", exc)
        raise


@pytest.fixture(scope="session")
def rest_description() -> Description:
    """GitHub's REST description (``@octokit/openapi``), ready to check requests against."""
    try:
        return Description(octokit.description())
    except (octokit.FetchError, OSError, ValueError) as exc:
        _unavailable(f"{octokit.OPENAPI.name}@{octokit.OPENAPI.version}", exc)
        raise


@pytest.fixture
async def github_api(rest_description: Description) -> AsyncIterator[GitHubStandIn]:
    """The stand-in GitHub API (repository octo-org/hello-world, organization octo-org)."""
    standin = await GitHubStandIn(rest_description, API_TOKEN).start()
    yield standin
    await standin.stop()
