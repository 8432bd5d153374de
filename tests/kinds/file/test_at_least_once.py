"""While the adapter runs, a refused change is retried with the source's backoff until it is
delivered: nothing is lost, and the changes of one name arrive in their order."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.adapter.kit import FAST_BACKOFF, DispatcherService, start_adapter, wait_for_state
from tests.kinds.file.kit import accepted, create_id, file_registry
from tests.kit import wait_until
from tests.watcher import RecordingWatcher

pytestmark = pytest.mark.timeout(90)


async def test_nothing_is_lost_while_the_watcher_answers_503(
    tmp_path: Path, watcher: RecordingWatcher
) -> None:
    count = 300
    directory = tmp_path / "inbox"
    directory.mkdir()
    source = {
        "directory": str(directory),
        "type": ["CREATE", "WRITE", "CHMOD", "REMOVE"],
        "pathRegexp": ".",
        "backoff": FAST_BACKOFF,
    }
    watcher.answer(*[503] * 200)  # then 200 for ever
    # No retries on the way: a refused event comes back to the source, which retries it.
    registry = file_registry(
        tmp_path / "registry.yaml", {"inbox": source}, watcher.url, delivery={"retry": 0}
    )
    dispatcher = await DispatcherService(registry).start()
    adapter = await start_adapter(
        registry, dispatcher.url, kind="file", dispatch_retries=0, max_in_flight=16
    )
    try:
        await wait_for_state(adapter, "inbox", "running")
        # One name goes through four operations while the watcher refuses.
        story = directory / "story"
        story.touch()
        with story.open("a") as handle:
            handle.write("more")
        story.chmod(0o600)
        story.unlink()
        for number in range(count):
            (directory / f"f-{number}").touch()
        expected = {create_id(directory / f"f-{n}") for n in range(count)}

        def complete() -> bool:
            ids = {e.id for e in accepted(watcher)}
            ops = [
                e.attributes["fileop"]
                for e in accepted(watcher)
                if e.attributes["subject"] == "story"
            ]
            return expected <= ids and "REMOVE" in ops

        await wait_until(complete, timeout=60)
    finally:
        await adapter.stop()
        await dispatcher.stop()
    refused = [r for r in watcher.requests if r.status == 503]
    assert len(refused) == 200
    creates = [e for e in accepted(watcher) if e.attributes["subject"] != "story"]
    assert len(creates) == count  # each once: a refused one was retried, none doubled
    story_ops = [
        e.attributes["fileop"] for e in accepted(watcher) if e.attributes["subject"] == "story"
    ]
    assert story_ops == ["CREATE", "WRITE", "CHMOD", "REMOVE"]  # in order, one lane per name


async def test_nothing_is_lost_while_the_dispatcher_is_down(
    tmp_path: Path, watcher: RecordingWatcher
) -> None:
    count = 200
    directory = tmp_path / "inbox"
    directory.mkdir()
    source = {
        "directory": str(directory),
        "type": "CREATE",
        "pathRegexp": ".",
        "backoff": FAST_BACKOFF,
    }
    registry = file_registry(tmp_path / "registry.yaml", {"inbox": source}, watcher.url)
    dispatcher = await DispatcherService(registry).start()
    watcher.delay = 0.01
    adapter = await start_adapter(
        registry, dispatcher.url, kind="file", dispatch_retries=0, max_in_flight=4
    )
    try:
        await wait_for_state(adapter, "inbox", "running")
        for number in range(count):
            (directory / f"f-{number}").touch()
        await wait_until(lambda: len(accepted(watcher)) >= 20, timeout=30)
        await dispatcher.stop()  # scale to zero, in the middle of the stream
        seen = len(accepted(watcher))
        for number in range(count, count + 50):
            (directory / f"f-{number}").touch()  # changes while it is down wait in the source
        dispatcher = await DispatcherService(registry, port=dispatcher.port).start()
        expected = {create_id(directory / f"f-{n}") for n in range(count + 50)}
        await wait_until(lambda: {e.id for e in accepted(watcher)} == expected, timeout=60)
    finally:
        await adapter.stop()
        await dispatcher.stop()
    assert seen < count + 50
    assert len(accepted(watcher)) >= count + 50
