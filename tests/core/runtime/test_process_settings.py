"""The process settings that shape how it runs: its event loop and its connections per watcher."""

import asyncio

import pytest

from gateways.errors import SettingsError
from gateways.hosting.process import event_loop_runner
from gateways.settings import Settings


def test_the_event_loop_setting_is_read_once_and_a_bad_one_is_named() -> None:
    assert Settings.from_env({}).event_loop == "auto"
    assert Settings.from_env({"GATEWAYS_EVENT_LOOP": " AsyncIO "}).event_loop == "asyncio"
    with pytest.raises(SettingsError, match="GATEWAYS_EVENT_LOOP: 'trio' is not uvloop or asyncio"):
        Settings.from_env({"GATEWAYS_EVENT_LOOP": "trio"})


def test_the_process_runs_on_uvloop_unless_asyncio_is_asked_for() -> None:
    async def loop_module() -> str:
        return type(asyncio.get_running_loop()).__module__

    seen: list[str] = []
    for choice in ("auto", "uvloop", "asyncio"):
        run = event_loop_runner(choice)
        seen.append(run(loop_module()))
    assert seen[0].startswith("uvloop") and seen[1].startswith("uvloop")
    assert seen[2].startswith("asyncio")


def test_watcher_connections_default_to_the_floors_concurrency_and_a_bad_value_is_named() -> None:
    assert Settings.from_env({}).watcher_connections == 64
    assert Settings.from_env({"GATEWAYS_WATCHER_CONNECTIONS": "8"}).watcher_connections == 8
    with pytest.raises(SettingsError, match="GATEWAYS_WATCHER_CONNECTIONS"):
        Settings.from_env({"GATEWAYS_WATCHER_CONNECTIONS": "0"})
