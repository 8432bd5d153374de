"""``GATEWAYS_LOG_FORMAT=json`` on a real ``gateways up``: every stderr line is one JSON
object (time, level, logger, message; gateway, source and event id where known), and no
secret appears in them, nor on stdout: not a webhook's HMAC key or bearer token, not the
password in a watcher's URL."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp

from tests.conftest import MakeWatcher
from tests.kit import ROOT, configmap, free_port, wait_until_async, write_registry
from tests.watcher import Reply

HMAC_KEY = "hmac-key-4f1d9c"  # made up, and looked for in the logs
TOKEN = "bearer-token-8b2e77"
PASSWORD = "watcher-password-c3a5"
SECRETS = (HMAC_KEY, TOKEN, PASSWORD)


async def test_json_logs_parse_line_by_line_and_hold_no_secret(
    tmp_path: Path, make_watcher: MakeWatcher
) -> None:
    accepting, refusing = await make_watcher(), await make_watcher(Reply(503))
    port, admin_port = free_port(), free_port()
    with_password = accepting.url.replace("http://", f"http://user:{PASSWORD}@")
    registry = write_registry(
        tmp_path / "registry.yaml",
        configmap(
            "hooks",
            "webhook",
            {
                "signed": {
                    "port": port,
                    "endpoint": "/signed",
                    "auth": {"hmac": {"secret": {"env": "HOOK_HMAC"}}},
                },
                "token": {
                    "port": port,
                    "endpoint": "/token",
                    "auth": {"bearerToken": {"env": "HOOK_TOKEN"}},
                },
                "broken": {"port": port, "endpoint": "/broken", "method": "FETCH"},
            },
            watchers=[with_password],
        ),
        configmap(
            "refused",
            "webhook",
            {"hook": {"port": port, "endpoint": "/refused"}},
            watchers=[refusing.url],
            delivery={"retry": 1, "backoffDelay": "PT0.01S"},
        ),
    )
    env = {
        **os.environ,
        "GATEWAYS_LOG_FORMAT": "json",
        "GATEWAYS_LOG_LEVEL": "DEBUG",
        "GATEWAYS_STATE_DIR": str(tmp_path / "state"),
        "HOOK_HMAC": HMAC_KEY,
        "HOOK_TOKEN": TOKEN,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateways",
        "up",
        "--file",
        str(registry),
        "--admin-port",
        str(admin_port),
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as session:

            async def post(path: str, body: bytes, headers: dict[str, str]) -> int:
                async with session.post(base + path, data=body, headers=headers) as reply:
                    return reply.status

            async def serving() -> bool:
                if process.returncode is not None:
                    raise AssertionError(f"gateways up exited with {process.returncode}")
                try:
                    return await post("/token", b"{}", {}) == 401
                except aiohttp.ClientError:
                    return False

            await wait_until_async(serving, timeout=30)
            body = b'{"n": 1}'
            signature = "sha256=" + hmac.new(HMAC_KEY.encode(), body, hashlib.sha256).hexdigest()
            assert await post("/signed", body, {"x-hub-signature-256": signature}) == 200
            assert await post("/signed", body, {"x-hub-signature-256": "sha256=00"}) == 403
            assert await post("/token", body, {"authorization": f"Bearer {TOKEN}"}) == 200
            assert await post("/token", body, {"authorization": "Bearer wrong"}) == 403
            assert await post("/refused", body, {}) == 503
            assert await post("/unknown", body, {}) == 404
        assert len(accepting.events) == 2
    finally:
        if process.returncode is None:
            process.terminate()
        stdout, stderr = await asyncio.wait_for(process.communicate(), 30)

    lines = stderr.decode().splitlines()
    records = [_record(line) for line in lines if line.strip()]
    assert len(records) >= 5, lines
    for record in records:
        assert {"time", "level", "logger", "message"} <= record.keys(), record
        assert record["time"].endswith("Z")
        datetime.fromisoformat(record["time"])  # RFC 3339
        assert record["level"] in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
    # The rejected source, named with its field.
    assert any("broken" in r["message"] and "FETCH" in r["message"] for r in records), lines
    # The refused delivery: which gateway, source and event.
    refused = [r for r in records if "not delivered" in r["message"]]
    assert refused, lines
    assert refused[0]["gateway"] == "refused" and refused[0]["source"] == "hook"
    assert refused[0]["event_id"] == refusing.events[0].id
    # No secret, anywhere the process wrote.
    for secret in SECRETS:
        assert secret not in stderr.decode() and secret not in stdout.decode(), secret


def _record(line: str) -> dict[str, Any]:
    try:
        document = json.loads(line)
    except ValueError:
        raise AssertionError(f"not a JSON line: {line!r}") from None
    assert isinstance(document, dict), line
    return document
