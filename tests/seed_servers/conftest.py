"""The real gateway-era servers: Argo Events v0.10's and v0.12's calendar gateway servers.

They are built from Argo Events' public source at those tags, by hand, outside this project
(nothing here builds them: the project commits no recipe for code it does not own). Point
``GATEWAYS_SEED_SERVERS`` at the folder that holds ``v0.10/calendar-server`` and
``v0.12/calendar-server`` (default ``~/.cache/gateways-seed-servers``). Where they are absent,
these tests are not collected and the summary at the end of the run says so: they are never
counted as passed.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from tests.kit import HandBuilt
from tests.seed_servers.seedkit import BINARIES, HERE, SeedServer

SEED_SERVERS = HandBuilt(HERE, "seed-era servers")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    missing = [str(path) for path in BINARIES.values() if not os.access(path, os.X_OK)]
    SEED_SERVERS.deselect(config, items, missing)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    SEED_SERVERS.summary(terminalreporter)


StartSeed = Callable[[str], Awaitable[SeedServer]]


@pytest.fixture
async def seed_server() -> AsyncIterator[StartSeed]:
    """``await seed_server("v0.10")``: that release's calendar server, on loopback only."""
    started: list[SeedServer] = []

    async def start(version: str) -> SeedServer:
        server = await SeedServer(version).start()
        started.append(server)
        return server

    yield start
    for server in started:
        await server.stop()
