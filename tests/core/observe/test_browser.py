"""The status page in a real browser: Debian's Chromium, headless, driven by Playwright,
opens the page of a running `gateways up` while webhook POSTs and calendar ticks flow, and
the rendered DOM shows every source with its state, counts matching what the watcher
received, the rejected source's reason, and the last event in the recent-events view. Event
data that looks like markup shows as text and runs nothing.

Set GATEWAYS_UPDATE_SCREENSHOT=1 to write the screenshot the README shows
(docs/status-page.png); otherwise it goes to the test's temporary folder.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.kit import ROOT, GatewaysUp, configmap, free_port, wait_until_async, write_registry
from tests.servicekit import settings, unavailable
from tests.watcher import RecordingWatcher

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'


def chromium() -> str:
    """Debian's chromium (GATEWAYS_TEST_CHROMIUM names another); skipped if missing, a failure
    under CI=true."""
    path = settings().get("GATEWAYS_TEST_CHROMIUM") or shutil.which("chromium") or ""
    if not path or not os.access(path, os.X_OK):
        unavailable("chromium", "no chromium binary (apt-get install chromium)")
    return path


@pytest.fixture
async def browser_page(tmp_path: Path) -> AsyncIterator[Any]:
    executable = chromium()
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        unavailable("chromium", "Playwright for Python is not installed (pip install playwright)")
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=executable,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 860},
        )
        try:
            yield await context.new_page()
        finally:
            await context.close()


async def post(url: str, body: str) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers={"content-type": "application/json"}) as reply,
    ):
        assert reply.status == 200


def from_source(watcher: RecordingWatcher, name: str) -> list[str]:
    return [r.event.id for r in watcher.requests if r.event and r.event.source.endswith(name)]


async def cell(page: Any, source: str, column: str) -> str:
    text: str = await page.locator(f'tr[data-source="{source}"] td.{column}').inner_text()
    return text.strip()


async def until(condition: Callable[[], Any], timeout: float = 15) -> None:
    await wait_until_async(condition, timeout=timeout, interval=0.1)


async def test_the_status_page_in_chromium_shows_sources_counts_and_recent_events(
    tmp_path: Path,
    watcher: RecordingWatcher,
    browser_page: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    page = browser_page
    port = free_port()
    registry = write_registry(
        tmp_path / "registry.yaml",
        configmap(
            "hooks",
            "webhook",
            {
                "example": {"port": port, "endpoint": "/example"},
                "broken": {"port": port, "endpoint": "example", "method": "FETCH"},
            },
            watchers=[watcher.url],
        ),
        configmap(
            "ticks",
            "calendar",
            {"every-second": {"interval": "1s", "userPayload": '{"tick": true}'}},
            watchers=[watcher.url],
        ),
    )
    monkeypatch.setenv("GATEWAYS_STATE_DIR", str(tmp_path / "state"))
    hook = f"http://127.0.0.1:{port}/example"
    async with GatewaysUp(registry) as gateway:
        for number in range(3):
            await post(hook, json.dumps({"order": number}))
        await page.goto(f"http://127.0.0.1:{gateway.admin_port}/")
        await page.wait_for_selector('tr[data-source="ticks/every-second"]')

        # Every source with its state; the rejected one with its reason.
        assert await cell(page, "hooks/example", "state") == "running"
        assert await cell(page, "ticks/every-second", "state") == "running"
        assert await cell(page, "hooks/broken", "state") == "rejected"
        reason = await cell(page, "hooks/broken", "reason")
        assert "webhook/broken" in reason and "must start with '/'" in reason
        assert "'FETCH' is not an HTTP method" in reason

        # Live: events sent while the page is open arrive without a reload.
        await post(hook, json.dumps({"payload": HOSTILE}))
        await watcher.wait_for(4)
        hooks_seen = from_source(watcher, "/example")
        assert len(hooks_seen) == 4

        async def webhook_counts_match() -> bool:
            return await cell(page, "hooks/example", "delivered") == str(len(hooks_seen))

        await until(webhook_counts_match)
        assert await cell(page, "hooks/example", "received") == "4"
        assert await cell(page, "hooks/example", "failed") == "0"
        assert await cell(page, "hooks/example", "dead-lettered") == "0"

        async def ticks_match() -> bool:
            shown = await cell(page, "ticks/every-second", "delivered")
            return shown != "0" and shown == str(len(from_source(watcher, "/every-second")))

        await until(ticks_match)
        rate = page.locator('tr[data-source="ticks/every-second"] svg.rate')
        assert int(await rate.get_attribute("data-total")) >= 1

        # The recent-events view shows the last webhook event, its data as text only.
        last = hooks_seen[-1]
        item = page.locator(f'li.event[data-id="{last}"]')
        await item.wait_for()
        assert last in await item.locator("summary").inner_text()
        assert await item.get_attribute("data-outcome") == "delivered"
        await item.locator("summary").click()
        shown = await item.locator("pre.data").inner_text()
        assert json.loads(shown) == {"payload": HOSTILE}
        assert await page.evaluate("() => window.__pwned") is None
        assert await page.locator("#events img, #events script").count() == 0
        assert watcher.url in await item.locator("table.watchers").inner_text()

        # Filtering on a source shows only its events.
        await page.select_option("#filter", "hooks/example")
        ids = await page.locator("li.event").evaluate_all("items => items.map(i => i.dataset.id)")
        assert ids == list(reversed(hooks_seen))

        await page.select_option("#filter", "")
        folder = ROOT / "docs" if os.environ.get("GATEWAYS_UPDATE_SCREENSHOT") else tmp_path
        shot = folder / "status-page.png"
        await page.screenshot(path=str(shot), full_page=False)
        assert shot.read_bytes().startswith(b"\x89PNG")
