"""A secret that resolves to nothing is no secret: the source does not run, and says why."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import aiohttp
import pytest

from gateways.config.common import SecretRef
from gateways.secrets import SecretEmptyError, resolve
from tests.kit import configmap, free_port, start_gateway, status_of, write_registry
from tests.watcher import RecordingWatcher


@pytest.mark.parametrize("value", ["", "   ", "\n"])
def test_resolve_refuses_an_empty_secret_without_showing_it(value: str) -> None:
    with pytest.raises(SecretEmptyError, match=r"env WEBHOOK_KEY is empty \(\$WEBHOOK_KEY\)"):
        resolve(SecretRef(env="WEBHOOK_KEY"), {"WEBHOOK_KEY": value})


def test_an_empty_secret_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "key").write_text("\n")
    with pytest.raises(SecretEmptyError, match="is empty"):
        resolve(SecretRef(file=str(tmp_path / "key")))


async def test_webhooks_with_empty_token_or_hmac_key_do_not_serve(
    tmp_path: Path, watcher: RecordingWatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMPTY_TOKEN", "")
    monkeypatch.setenv("EMPTY_HMAC", " ")
    port = free_port()
    sources = {
        "token": {"endpoint": "/token", "port": port, "authSecret": {"env": "EMPTY_TOKEN"}},
        "signed": {
            "endpoint": "/signed",
            "port": port,
            "auth": {"hmac": {"secret": {"env": "EMPTY_HMAC"}}},
        },
        "open": {"endpoint": "/open", "port": port},
    }
    registry = write_registry(
        tmp_path / "registry.yaml", configmap("hooks", "webhook", sources, watchers=[watcher.url])
    )
    runtime = await start_gateway(registry, tmp_path)
    try:
        for name in ("token", "signed"):
            status = status_of(runtime, name)
            assert status.state == "failed"
            assert "is empty" in status.reason and "no secret" in status.reason
        assert status_of(runtime, "open").state == "running"
        signature = "sha256=" + hmac.new(b"", b"{}", hashlib.sha256).hexdigest()
        async with aiohttp.ClientSession() as session:
            for path, headers in (
                ("/token", {"authorization": "Bearer "}),
                ("/signed", {"x-hub-signature-256": signature}),
            ):
                url = f"http://127.0.0.1:{port}{path}"
                async with session.post(url, data=b"{}", headers=headers) as answer:
                    assert answer.status == 404  # no source serves it
        assert watcher.requests == []
    finally:
        await runtime.stop()
