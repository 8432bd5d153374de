"""The python3-http readiness race, with the real of-watchdog.

The watchdog writes its lock file, and ``/_/health`` says 200, as soon as it listens; the
template's ``python index.py`` is still importing Flask and the function then, so a request
forwarded in that window gets the watchdog's 500 (upstream refused). With ``ready_path`` set,
the watchdog answers ``/_/ready`` by asking the function itself at that path: 500 until its
server listens. The windows measured are printed in the terminal summary; nothing here asserts
a duration.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from tests.kit import write_registry
from tests.openfaas.conftest import StartPod, function_env
from tests.openfaas.pod import Pod
from tests.openfaas.tools import FUNCTIONS, SUMMARY

UPSTREAM_REFUSED = 500  # the watchdog's answer while nothing listens on upstream_url


@dataclass(frozen=True)
class Sample:
    at: float  # seconds since the pod started
    health: int | None  # None: the watchdog itself did not answer yet
    ready: int | None
    function: int | None  # a GET / forwarded to the function (which none of them acts on)


async def _status(session: aiohttp.ClientSession, url: str) -> int | None:
    try:
        async with session.get(url) as reply:
            await reply.read()
            return reply.status
    except aiohttp.ClientError:
        return None


async def start_up(pod: Pod, started: float, timeout: float = 30) -> list[Sample]:
    """Health, readiness and a function request, side by side, until the function answers."""
    samples: list[Sample] = []
    async with asyncio.timeout(timeout), aiohttp.ClientSession() as session:
        while True:
            health, ready, function = await asyncio.gather(
                _status(session, pod.url + "_/health"),
                _status(session, pod.url + "_/ready"),
                _status(session, pod.url),
            )
            samples.append(Sample(time.monotonic() - started, health, ready, function))
            if function not in (None, UPSTREAM_REFUSED):
                return samples
            await asyncio.sleep(0.005)


async def _pod(start_pod: StartPod, name: str, tmp_path: Path, **settings: str) -> Pod:
    registry = write_registry(tmp_path / "registry.yaml")
    return await start_pod(
        name,
        GATEWAYS_REGISTRY_FILE=str(registry),
        GATEWAYS_STATE_DIR=str(tmp_path / "state"),
        **settings,
    )


@pytest.mark.parametrize("name", FUNCTIONS)
async def test_health_says_healthy_before_the_function_listens(
    name: str, start_pod: StartPod, tmp_path: Path
) -> None:
    started = time.monotonic()
    # As the template ships: no ready_path (stack.yml sets one; the next test runs with it).
    found = await start_up(await _pod(start_pod, name, tmp_path, ready_path=""), started)
    healthy = [s for s in found if s.health == 200]
    refused = [s for s in healthy if s.function == UPSTREAM_REFUSED]
    window = found[-1].at - healthy[0].at
    SUMMARY.append(
        f"readiness window, {name}: /_/health 200 for {window * 1000:.0f} ms before the "
        f"function listened ({found[-1].at * 1000:.0f} ms after start); "
        f"{len(refused)} of {len(healthy)} requests in it got 500"
    )
    assert refused, "no request reached the function before it listened"
    assert all(s.ready == 200 for s in refused), "without ready_path, /_/ready is /_/health"


@pytest.mark.parametrize("name", FUNCTIONS)
async def test_ready_path_keeps_ready_failing_until_the_function_answers(
    name: str, start_pod: StartPod, tmp_path: Path
) -> None:
    """``ready_path=/readyz``: /_/ready is the function's own readiness (gateways/hosting/
    bridge.py), 500 before it listens, 200 once it started. A caller (the gateway, a probe) that
    waits for /_/ready to be 200 sends no request that gets a 500: the window /_/health leaves
    open is closed."""
    started = time.monotonic()
    assert function_env(name, tmp_path)["ready_path"] == "/readyz"  # as stack.yml deploys it
    pod = await _pod(start_pod, name, tmp_path)
    found = await start_up(pod, started)
    before = [s for s in found if s.ready == UPSTREAM_REFUSED]
    assert any(s.health == 200 for s in before), "/_/health was already 200 meanwhile"

    # The gated caller: wait for /_/ready to pass as a probe would, then a burst of requests.
    async with aiohttp.ClientSession() as session:
        while (ready := await _status(session, pod.url + "_/ready")) != 200:
            assert ready in (None, UPSTREAM_REFUSED), f"/_/ready answered {ready}"
            await asyncio.sleep(0.005)
        burst = await asyncio.gather(*(_status(session, pod.url) for _ in range(20)))
    assert UPSTREAM_REFUSED not in burst and None not in burst, burst
    SUMMARY.append(
        f"ready_path=/readyz, {name}: /_/ready 500 for the first {len(before)} probes "
        f"({before[-1].at * 1000:.0f} ms), then 200; 0 of {len(burst)} gated requests got 500"
    )
