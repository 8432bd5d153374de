"""Fixtures of the GitLab tests: the stand-in GitLab API, the secrets, a running gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.kinds.gitlab.gatewaykit import HOOK_TOKEN, Gateway, start
from tests.kinds.gitlab.gitlab_api import TOKEN, GitLabAPI
from tests.kit import status_of, wait_until
from tests.watcher import RecordingWatcher


@pytest.fixture
async def api() -> AsyncIterator[GitLabAPI]:
    stand_in = await GitLabAPI().start()
    yield stand_in
    await stand_in.stop()


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITLAB_API_TOKEN", TOKEN)
    monkeypatch.setenv("GITLAB_HOOK_TOKEN", HOOK_TOKEN)


@pytest.fixture
async def gateway(
    tmp_path: Path, api: GitLabAPI, watcher: RecordingWatcher, secrets: None
) -> AsyncIterator[Gateway]:
    started = await start(tmp_path, api, watcher)
    await wait_until(lambda: status_of(started.runtime, "project").state == "running", 10)
    yield started
    await started.runtime.stop()
