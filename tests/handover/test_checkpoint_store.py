"""Where a kind's checkpoints live (gateways.checkpoints.checkpoint_store, as the artifact kind
uses it): the gateway ConfigMaps' annotation when the registry is ConfigMaps, else a file under
the state directory; one store a process. Unit tests of that choice and of what a checkpoint
read does when the API server answers with a transient error: no server needed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.artifact.checkpoints import (
    ANNOTATION,
    ANNOTATION_RECENT,
    FILE_NAME,
    FILE_RECENT,
    Checkpoint,
    checkpoint_store,
)
from adapters.artifact.reconcile import Listed, Progress, listed_event
from gateways.checkpoints import CheckpointFile, ConfigMapCheckpoints
from gateways.kinds import SourceContext
from gateways.registry.kubeapi import KubeAPI, KubeAPIError
from gateways.settings import Settings
from tests.kinds.artifact.kit import config

KEY = "artifact-gateway/uploads"


class UnreachableAPI(KubeAPI):
    """An API server that answers every read with ``status``."""

    def __init__(self, status: int) -> None:
        self.status = status

    def get(self, path: str, query: Any = None) -> Any:
        raise KubeAPIError(self.status, "Unavailable", "try again")


async def test_a_local_registry_keeps_artifact_checkpoints_in_a_file(tmp_path: Path) -> None:
    context = SourceContext(Settings(state_dir=tmp_path))
    store, recent = await checkpoint_store(context)
    assert isinstance(store, CheckpointFile) and store.path == tmp_path / FILE_NAME
    assert recent == FILE_RECENT
    assert (await checkpoint_store(context))[0] is store  # one a process


async def test_a_configmap_registry_keeps_them_on_the_gateway_configmap(tmp_path: Path) -> None:
    api = UnreachableAPI(503)
    settings = Settings(configmaps=("artifact-gateway",), namespace="team", state_dir=tmp_path)
    context = SourceContext(settings, resources={"kube-api": api})  # the process's client
    store, recent = await checkpoint_store(context)
    assert isinstance(store, ConfigMapCheckpoints)
    assert (store.api, store.namespace, store.annotation) == (api, "team", ANNOTATION)
    assert recent == ANNOTATION_RECENT
    assert (await checkpoint_store(context))[0] is store


@pytest.mark.parametrize("status", [500, 503, 429])
def test_a_transient_error_fails_the_read_rather_than_starting_afresh(status: int) -> None:
    """Afresh, an artifact source would take every object listed now as old news."""
    store = ConfigMapCheckpoints(UnreachableAPI(status), "team", ANNOTATION, Checkpoint.from_json)
    with pytest.raises(KubeAPIError):
        Progress(store, KEY, config())


def test_a_refused_read_starts_afresh() -> None:
    store = ConfigMapCheckpoints(UnreachableAPI(403), "team", ANNOTATION, Checkpoint.from_json)
    assert Progress(store, KEY, config()).fresh


def test_a_checkpoint_on_an_annotation_stays_small(tmp_path: Path) -> None:
    """A burst keeps only the newest ids: a gateway's sources share 256 KiB of annotations."""
    progress = Progress(
        CheckpointFile(tmp_path, FILE_NAME, Checkpoint.from_json),
        KEY,
        config(),
        recent_limit=ANNOTATION_RECENT,
    )
    progress.begin([])
    start = datetime(2026, 1, 5, tzinfo=UTC)
    for number in range(ANNOTATION_RECENT * 3):
        moment = start + timedelta(milliseconds=number)
        key = f"reports/2026/01/05/upload-{number:06}.csv"
        progress.delivered(listed_event(Listed(key, moment, 10, "e"), config()))
    saved = json.loads((tmp_path / FILE_NAME).read_text())[KEY]
    assert len(saved["recent"]) == ANNOTATION_RECENT
    assert len(json.dumps(saved)) < 16_000
