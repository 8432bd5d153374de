"""How StorageGRID sources run: a failed delivery is a 503 and a redelivery keeps the ids; the
webhook function serves them on its one port; the seed era's ConfigMap runs both examples."""

from __future__ import annotations

import json
import ssl
from pathlib import Path

import pytest
import yaml

from functions.webhook.app import WebhookFunction
from gateways.hosting.server import Listener
from gateways.settings import Settings
from tests.kinds.storage_grid import documents as doc
from tests.kinds.storage_grid.support import JSON, Grid, post, publish_result, registry, sns_error
from tests.kit import (
    REFERENCE_DATA,
    free_port,
    self_signed,
    start_gateway,
    wait_until,
    write_registry,
)
from tests.watcher import RecordingWatcher

pytestmark = pytest.mark.timeout(60)


# ---------------------------------------------------------------------------- delivery


async def test_failed_delivery_is_503_and_a_retry_keeps_the_ids(
    grid: Grid, watcher: RecordingWatcher
) -> None:
    body = doc.publish_form(doc.event(doc.PUT, doc.COPY))
    watcher.answer(200, 503)  # the first record is taken, the second is not
    status, answer, _ = await post(grid.uploads, body)
    assert status == 503
    assert sns_error(answer)[:2] == ("Receiver", "ServiceUnavailable")
    # StorageGRID sends the notification again; the watcher sees the first record's id twice.
    status, answer, _ = await post(grid.uploads, body)
    assert status == 200
    publish_result(answer)
    ids = [r.event.id for r in watcher.requests if r.event is not None]
    assert ids == [
        "1588FE6F0E2F3A7C/uploads/red flower.jpg",
        "1588FE6F0E2F3A7D/uploads/copy.txt",
        "1588FE6F0E2F3A7C/uploads/red flower.jpg",
        "1588FE6F0E2F3A7D/uploads/copy.txt",
    ]
    await watcher.down()
    status, answer, _ = await post(grid.everything, doc.event(doc.PUT), JSON)
    assert status == 503 and json.loads(answer)["error"] == "delivery to watchers failed"


# ---------------------------------------------------------------------------- how it runs


async def test_served_by_the_webhook_function_on_its_one_port(
    tmp_path: Path, watcher: RecordingWatcher
) -> None:
    settings = Settings(
        registry_file=registry(tmp_path, free_port(), watcher),  # ports: the embedded default's
        state_dir=tmp_path / "state",
        admin_port=free_port(),
    )
    function = WebhookFunction(settings)
    listener = Listener(function)
    await function.startup()
    await listener.start()
    try:
        status, answer, _ = await post(
            listener.url + "/storagegrid", doc.publish_form(doc.event(doc.PUT))
        )
        assert status == 200
        publish_result(answer)
        assert (await post(listener.url + "/plain", {"n": 1}, JSON))[0] == 200
        put, plain = (r.event for r in await watcher.wait_for(2))
        assert put is not None and put.type == "dev.gateways.storage-grid.objectcreated.put"
        assert plain is not None and plain.type == "dev.gateways.webhook.request"
    finally:
        await listener.stop()
        await function.shutdown()


async def test_the_seed_era_configmap_runs_each_example_on_its_own_port(
    tmp_path: Path, watcher: RecordingWatcher
) -> None:
    """The seed era's file as it is, but for its ports (8080 and 8090 may be taken here) and
    the TLS paths ("some path in pod"), which point at a certificate made for the test."""
    cert, key = self_signed(tmp_path)
    plain, secure = free_port(), free_port()
    text = (REFERENCE_DATA / "argo-events-v0.10-examples" / "storage-grid.yaml").read_text()
    text = text.replace('port: "8080"', f'port: "{plain}"').replace(
        'port: "8090"', f'port: "{secure}"'
    )
    text = text.replace('serverCertPath: "some path in pod"', f'serverCertPath: "{cert}"')
    text = text.replace('serverKeyPath: "some path in pod"', f'serverKeyPath: "{key}"')
    [document] = [d for d in yaml.safe_load_all(text) if d]
    document["metadata"]["annotations"] = {"gateways.dev/watchers": yaml.safe_dump([watcher.url])}
    path = write_registry(tmp_path / "seed.yaml", document)
    runtime = await start_gateway(path, tmp_path, gateway_type="storage-grid")
    try:
        await wait_until(
            lambda: all(s.state == "running" for s in runtime.reconciler.status()),
            10,
            runtime.reconciler.status,
        )
        created = doc.record("photo.jpg", "A1")
        removed = doc.record("photo.jpg", "A2", "ObjectRemoved:Delete")
        status, answer, _ = await post(
            f"http://127.0.0.1:{plain}/", doc.publish_form(doc.event(created, removed))
        )
        assert status == 200
        publish_result(answer)
        context = ssl.create_default_context(cafile=str(cert))
        status, answer, _ = await post(
            f"https://127.0.0.1:{secure}/",
            doc.publish_form(doc.event(created, removed)),
            ssl=context,
        )
        assert status == 200
        publish_result(answer)
        events = [r.event for r in watcher.requests]
        assert [(e.source, e.type) for e in events if e is not None] == [
            (
                "/gateways/storage-grid-event-source/example",
                "dev.gateways.storage-grid.objectcreated.put",
            ),
            (
                "/gateways/storage-grid-event-source/example-secure",
                "dev.gateways.storage-grid.objectcreated.put",
            ),
            (
                "/gateways/storage-grid-event-source/example-secure",
                "dev.gateways.storage-grid.objectremoved.delete",
            ),
        ]
    finally:
        await runtime.stop()
