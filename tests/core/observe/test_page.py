"""The status page's endpoints on a real gateway's admin port: counts that match what the
watchers received, recent events with each watcher's outcome, a long poll that returns when
an event arrives, and no secret anywhere a browser or `gateways tail` can read."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gateways.admin import AdminApp
from gateways.embedded import banner
from gateways.function import Request
from gateways.runtime import GatewayRuntime
from tests.conftest import MakeWatcher
from tests.kit import configmap, free_port, start_gateway, write_registry
from tests.watcher import RecordingWatcher

TOKEN = "bearer-s3cret-value"
HMAC_KEY = "hmac-s3cret-key"
API_KEY = "api-key-s3cret"
QUERY_TOKEN = "query-s3cret"


async def get(url: str) -> tuple[int, dict[str, str], bytes]:
    async with aiohttp.ClientSession() as session, session.get(url) as reply:
        return reply.status, dict(reply.headers), await reply.read()


async def get_json(url: str) -> Any:
    status, _, body = await get(url)
    assert status == 200, body
    return json.loads(body)


async def post(url: str, body: bytes, headers: dict[str, str] | None = None) -> int:
    headers = {"content-type": "application/json", **(headers or {})}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=headers) as reply,
    ):
        return reply.status


class Gateway:
    def __init__(self, runtime: GatewayRuntime, port: int) -> None:
        self.runtime = runtime
        self.hooks = f"http://127.0.0.1:{port}"
        self.admin = f"http://127.0.0.1:{runtime.settings.admin_port}"

    async def sources(self) -> dict[str, dict[str, Any]]:
        document = await get_json(self.admin + "/status?rates")
        return {source["name"]: source for source in document["sources"]}


@pytest.fixture
async def gateway(
    tmp_path: Path, watcher: RecordingWatcher, make_watcher: MakeWatcher, monkeypatch: Any
) -> AsyncIterator[Gateway]:
    monkeypatch.setenv("PAGE_TOKEN", TOKEN)
    monkeypatch.setenv("PAGE_HMAC", HMAC_KEY)
    refusing = await make_watcher(503)
    dead_letters = await make_watcher(200)
    port = free_port()
    fast = {"retry": 0, "backoffDelay": "PT0.01S"}
    registry = write_registry(
        tmp_path / "registry.yaml",
        configmap(
            "hooks",
            "webhook",
            {
                "open": {"port": port, "endpoint": "/open"},
                "bearer": {
                    "port": port,
                    "endpoint": "/bearer",
                    "auth": {"bearerToken": {"env": "PAGE_TOKEN"}},
                },
                "signed": {
                    "port": port,
                    "endpoint": "/signed",
                    "auth": {"hmac": {"secret": {"env": "PAGE_HMAC"}}},
                },
                "broken": {"port": port, "endpoint": "no-slash"},
            },
            watchers=[watcher.url],
        ),
        configmap(
            "refused",
            "webhook",
            {"failing": {"port": port, "endpoint": "/failing"}},
            watchers=[refusing.url],
            delivery=fast,
        ),
        configmap(
            "lettered",
            "webhook",
            {"dead": {"port": port, "endpoint": "/dead"}},
            watchers=[refusing.url],
            delivery={**fast, "deadLetterSink": dead_letters.url},
        ),
    )
    runtime = await start_gateway(registry, tmp_path)
    yield Gateway(runtime, port)
    await runtime.stop()


async def test_counts_match_what_the_watcher_received_and_outcomes_are_shown(
    gateway: Gateway, watcher: RecordingWatcher
) -> None:
    for number in range(3):
        assert await post(gateway.hooks + "/open", json.dumps({"n": number}).encode()) == 200
    assert await post(gateway.hooks + "/failing", b"{}") == 503
    assert await post(gateway.hooks + "/dead", b"{}") == 200
    received = await watcher.wait_for(3)
    sources = await gateway.sources()
    counts = sources["open"]["events"]
    assert counts["received"] == counts["delivered"] == len(received) == 3
    assert counts["failed"] == counts["deadLettered"] == counts["inFlight"] == 0
    assert "last" in counts and sum(sources["open"]["rate"]["counts"]) == 3
    assert sources["failing"]["events"]["failed"] == 1
    assert sources["dead"]["events"]["deadLettered"] == 1
    assert (
        sources["broken"]["state"] == "rejected"
        and "must start with" in sources["broken"]["reason"]
    )
    assert sources["broken"]["events"]["received"] == 0

    recent = await get_json(gateway.admin + "/events/recent")
    by_source = {(e["source"], e["attributes"]["id"]): e for e in recent["events"]}
    ids = [e["attributes"]["id"] for e in recent["events"] if e["source"] == "open"]
    assert ids == [r.event.id for r in received if r.event is not None]
    failed = next(e for (source, _), e in by_source.items() if source == "failing")
    [outcome] = failed["watchers"]
    assert failed["outcome"] == "failed" and outcome["status"] == 503 and not outcome["ok"]
    dead = next(e for (source, _), e in by_source.items() if source == "dead")
    assert dead["outcome"] == "dead-lettered" and dead["watchers"][0]["deadLettered"]
    only = await get_json(gateway.admin + "/events/recent?source=hooks/open&limit=1")
    assert [e["attributes"]["id"] for e in only["events"]] == ids[-1:]
    assert only["next"] == recent["next"] == max(e["seq"] for e in recent["events"])


async def test_a_long_poll_returns_when_an_event_arrives(gateway: Gateway) -> None:
    first = await get_json(gateway.admin + "/events/recent")
    after = first["next"]
    waiting = asyncio.create_task(
        get_json(f"{gateway.admin}/events/recent?source=open&after={after}&wait=20")
    )
    await asyncio.sleep(0.2)
    assert not waiting.done()
    assert await post(gateway.hooks + "/open", b'{"late": true}') == 200
    found = await asyncio.wait_for(waiting, 5)
    [event] = found["events"]
    assert event["data"] == '{"late": true}' and found["next"] == event["seq"]
    started = time.monotonic()
    quiet = await get_json(f"{gateway.admin}/events/recent?after={found['next']}&wait=0.3")
    assert quiet["events"] == [] and time.monotonic() - started >= 0.25


async def test_stopping_the_process_ends_a_waiting_long_poll_at_once(gateway: Gateway) -> None:
    waiting = asyncio.create_task(get(f"{gateway.admin}/events/recent?after=999&wait=30"))
    await asyncio.sleep(0.2)
    started = time.monotonic()
    await gateway.runtime.stop()
    assert time.monotonic() - started < 3
    status, _, _ = await asyncio.wait_for(waiting, 3)
    assert status == 200


async def test_page_assets_are_served_with_a_strict_policy(gateway: Gateway) -> None:
    status, headers, body = await get(gateway.admin + "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    policy = headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert b'<script src="page.js"' in body and b"http" not in body.split(b"<body>")[0]
    for path, kind in (("/page.js", "text/javascript"), ("/page.css", "text/css")):
        status, headers, script = await get(gateway.admin + path)
        assert status == 200 and headers["Content-Type"].startswith(kind)
        assert b"https://" not in script and b"http://" not in script.replace(
            b"http://www.w3.org/2000/svg", b""
        )
    assert (await get(gateway.admin + "/favicon.ico"))[0] == 204


def test_the_page_script_sets_text_never_markup() -> None:
    from gateways.observe.page import asset

    script = asset("page.js").decode()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("after=x", "after: 'x' is not a number"),
        ("after=-1", "after: '-1' is out of range"),
        ("wait=31", "wait: '31' is out of range"),
        ("wait=nan", "wait: 'nan' is out of range"),
        ("limit=0", "limit: '0' is out of range"),
        ("source=a&source=b", "source: given 2 times"),
    ],
)
async def test_bad_queries_are_refused_naming_the_parameter(
    gateway: Gateway, query: str, problem: str
) -> None:
    status, _, body = await get(f"{gateway.admin}/events/recent?{query}")
    assert status == 400 and problem in json.loads(body)["error"]


async def test_no_secret_reaches_the_status_or_the_recent_events(
    gateway: Gateway, watcher: RecordingWatcher
) -> None:
    body = b'{"action": "opened"}'
    signature = "sha256=" + hmac.new(HMAC_KEY.encode(), body, hashlib.sha256).hexdigest()
    extra = {"x-api-key": API_KEY, "cookie": f"session={API_KEY}"}
    assert (
        await post(gateway.hooks + "/bearer", body, {"authorization": f"Bearer {TOKEN}", **extra})
        == 200
    )
    assert await post(gateway.hooks + "/signed", body, {"x-hub-signature-256": signature}) == 200
    assert await post(f"{gateway.hooks}/open?access_token={QUERY_TOKEN}&page=2", body) == 200
    await watcher.wait_for(3)
    shown = [(await get(gateway.admin + path))[2] for path in ("/events/recent", "/status?rates")]
    text = b"".join(shown).decode()
    for secret in (TOKEN, HMAC_KEY, signature.split("=")[1], API_KEY, QUERY_TOKEN):
        assert secret not in text
    events = json.loads(shown[0])["events"]
    assert len(events) == 3 and "page=2" in events[-1]["attributes"]["httpquery"]


async def test_the_banner_names_the_page(gateway: Gateway) -> None:
    shown = banner(gateway.runtime, bundled=False)
    assert f"page:   {gateway.admin}/" in shown and "gateways tail" in shown


async def test_a_process_without_a_recorder_says_so() -> None:
    app = AdminApp(list, list, lambda: True)  # an adapter's: its sink is the dispatcher function
    reply = await app.handle(Request("GET", "/events/recent", {}))
    assert json.loads(reply.body) == {"events": [], "next": 0, "gaps": [], "recording": False}
    status = json.loads((await app.handle(Request("GET", "/status", {}))).body)
    assert status["recording"] is False
