"""What the StorageGRID end-to-end tests share: a registry with two StorageGRID sources and a
plain webhook on one port, an HTTP client, and readers of SNS's XML answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import aiohttp

from gateways.runtime import GatewayRuntime
from tests.kinds.storage_grid import documents as doc
from tests.kit import configmap, write_registry
from tests.watcher import RecordingWatcher

FORM = {"content-type": "application/x-www-form-urlencoded; charset=utf-8"}
JSON = {"content-type": "application/json"}
SNS = "{http://sns.amazonaws.com/doc/2010-03-31/}"


async def post(
    url: str, body: bytes | dict[str, Any], headers: dict[str, str] | None = None, **kw: Any
) -> tuple[int, bytes, str]:
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            kw.pop("method", "POST"),
            url,
            data=data,
            headers=headers if headers is not None else FORM,
            **kw,
        ) as reply,
    ):
        return reply.status, await reply.read(), reply.headers.get("content-type", "")


def publish_result(body: bytes) -> str:
    """The MessageId of SNS's PublishResponse (raises if the body is anything else)."""
    root = ElementTree.fromstring(body)  # noqa: S314 (our own answer, in a test)
    assert root.tag == f"{SNS}PublishResponse"
    message_id = root.findtext(f"{SNS}PublishResult/{SNS}MessageId")
    assert message_id and root.findtext(f"{SNS}ResponseMetadata/{SNS}RequestId")
    return message_id


def sns_error(body: bytes) -> tuple[str, str, str]:
    root = ElementTree.fromstring(body)  # noqa: S314 (our own answer, in a test)
    assert root.tag == f"{SNS}ErrorResponse"
    error = root.find(f"{SNS}Error")
    assert error is not None
    return (
        error.findtext(f"{SNS}Type") or "",
        error.findtext(f"{SNS}Code") or "",
        error.findtext(f"{SNS}Message") or "",
    )


class Grid:
    def __init__(self, runtime: GatewayRuntime, port: int) -> None:
        self.runtime = runtime
        self.base = f"http://127.0.0.1:{port}"
        self.uploads = self.base + "/storagegrid"
        self.everything = self.base + "/all"
        self.plain = self.base + "/plain"


def registry(tmp_path: Path, port: int, watcher: RecordingWatcher) -> Path:
    return write_registry(
        tmp_path / "registry.yaml",
        configmap(
            "grid",
            "storage-grid",
            {
                "uploads": {
                    "hook": {"port": port, "endpoint": "/storagegrid", "maxPayloadSize": 65536},
                    "events": ["s3:ObjectCreated:*"],
                    "filter": {"prefix": "uploads/"},
                },
                "everything": {"hook": {"port": port, "endpoint": "/all"}},
            },
            watchers=[watcher.url],
            delivery={"retry": 0, "timeout": "PT5S"},
        ),
        configmap(
            "hooks",
            "webhook",
            {"plain": {"port": port, "endpoint": "/plain"}},
            watchers=[watcher.url],
        ),
    )


async def others_still_serve(grid: Grid, watcher: RecordingWatcher) -> None:
    before = len(watcher.requests)
    assert (await post(grid.plain, {"n": 1}, JSON))[0] == 200
    assert (await post(grid.everything, doc.publish_form(doc.event(doc.DELETE))))[0] == 200
    assert len(watcher.requests) == before + 2
    assert watcher.requests[-1].event is not None
    assert watcher.requests[-1].event.type == "dev.gateways.storage-grid.objectremoved.delete"
