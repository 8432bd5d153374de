"""Last-fired state: the JSON file store with its locks, and the ConfigMap store's pure parts."""

from __future__ import annotations

import asyncio
import json
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from functions.calendar import kube_state
from functions.calendar.kube_state import (
    ANNOTATION,
    decode,
    encode,
    last_tick,
    with_lease,
    with_tick,
    without_lease,
)
from functions.calendar.state import FileStateStore, StateError
from gateways.source import Origin
from tests.kit import ROOT

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
DAILY = Origin("cal", "daily", "calendar")
HOURLY = Origin("cal", "hourly", "calendar")


async def test_file_store_round_trips_per_source(tmp_path: Path) -> None:
    path = tmp_path / "state" / "calendar-state.json"
    store = FileStateStore(path)
    assert await store.load(DAILY) is None
    await store.save(DAILY, T0)
    await store.save(HOURLY, T0 + timedelta(hours=1))
    reopened = FileStateStore(path)
    assert await reopened.load(DAILY) == T0
    assert await reopened.load(HOURLY) == T0 + timedelta(hours=1)
    assert json.loads(path.read_text()) == {
        "cal/daily": "2026-05-01T12:00:00Z",
        "cal/hourly": "2026-05-01T13:00:00Z",
    }
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "calendar-state.json",
        "calendar-state.json.lock",
    ]


async def test_file_store_never_moves_backwards(tmp_path: Path) -> None:
    store = FileStateStore(tmp_path / "state.json")
    await store.save(DAILY, T0)
    await store.save(DAILY, T0 - timedelta(minutes=1))
    assert await store.load(DAILY) == T0


async def test_a_corrupt_file_is_an_error_not_a_fresh_start(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("{not json")
    with pytest.raises(StateError, match="not valid JSON"):
        await FileStateStore(path).load(DAILY)


async def test_a_claim_is_exclusive_per_source(tmp_path: Path) -> None:
    first, second = FileStateStore(tmp_path / "s.json"), FileStateStore(tmp_path / "s.json")
    async with first.claim(DAILY) as claimed:
        assert claimed
        async with second.claim(DAILY) as also:
            assert not also
        async with second.claim(HOURLY) as other_source:
            assert other_source
    async with second.claim(DAILY) as after_release:
        assert after_release


HOLDER = """
import asyncio, sys
from pathlib import Path
from functions.calendar.state import FileStateStore
from gateways.source import Origin

async def main():
    store = FileStateStore(Path(sys.argv[1]))
    async with store.claim(Origin("cal", "daily", "calendar")) as claimed:
        print("held" if claimed else "busy", flush=True)
        sys.stdin.readline()

asyncio.run(main())
"""


async def test_another_process_holding_the_claim_keeps_this_one_out(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        textwrap.dedent(HOLDER),
        str(path),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    assert holder.stdin is not None and holder.stdout is not None
    try:
        assert await asyncio.wait_for(holder.stdout.readline(), 10) == b"held\n"
        async with FileStateStore(path).claim(DAILY) as claimed:
            assert not claimed
    finally:
        holder.stdin.write(b"done\n")
        await holder.stdin.drain()
        await holder.wait()
    async with FileStateStore(path).claim(DAILY) as claimed:
        assert claimed


def test_configmap_state_decodes_and_encodes() -> None:
    state = {"cal/daily": {"last": "2026-05-01T12:00:00Z"}}
    assert decode(encode(state)) == state
    assert decode(None) == {} == decode("")
    assert last_tick(state, "cal/daily") == T0
    assert last_tick(state, "cal/other") is None
    with pytest.raises(StateError, match=ANNOTATION):
        decode('["not", "an object"]')
    with pytest.raises(StateError, match="not valid JSON"):
        decode("{")


def test_a_saved_tick_only_moves_forward_and_renews_only_its_own_lease() -> None:
    until = T0 + timedelta(minutes=5)
    state = {
        "cal/daily": {
            "last": "2026-05-01T12:00:00Z",
            "holder": "pod-a",
            "until": "2026-05-01T12:01:00Z",
        }
    }
    assert with_tick(state, "cal/daily", T0, "pod-a", until) is None
    assert with_tick(state, "cal/daily", T0 - timedelta(hours=1), "pod-a", until) is None
    moved = with_tick(state, "cal/daily", T0 + timedelta(hours=1), "pod-a", until)
    assert moved == {
        "cal/daily": {
            "last": "2026-05-01T13:00:00Z",
            "holder": "pod-a",
            "until": "2026-05-01T12:05:00Z",
        }
    }
    by_other = with_tick(state, "cal/daily", T0 + timedelta(hours=1), "pod-b", until)
    assert by_other is not None and by_other["cal/daily"]["until"] == "2026-05-01T12:01:00Z"
    assert with_tick({}, "cal/new", T0, "pod-a", until) == {
        "cal/new": {"last": "2026-05-01T12:00:00Z"}
    }


def test_a_live_lease_keeps_other_replicas_out_until_it_expires() -> None:
    until = T0 + timedelta(minutes=5)
    taken = with_lease({}, "cal/daily", "pod-a", T0, until)
    assert taken == {"cal/daily": {"holder": "pod-a", "until": "2026-05-01T12:05:00Z"}}
    assert with_lease(taken, "cal/daily", "pod-b", T0 + timedelta(minutes=4), until) is None
    assert with_lease(taken, "cal/daily", "pod-a", T0, until) is not None  # its own: renewed
    assert with_lease(taken, "cal/other", "pod-b", T0, until) is not None  # another source
    expired = with_lease(taken, "cal/daily", "pod-b", T0 + timedelta(minutes=6), until)
    assert expired is not None and expired["cal/daily"]["holder"] == "pod-b"


def test_only_the_holder_releases_a_lease_and_the_last_tick_stays() -> None:
    state = {
        "cal/daily": {
            "last": "2026-05-01T12:00:00Z",
            "holder": "pod-a",
            "until": "2026-05-01T12:05:00Z",
        }
    }
    assert without_lease(state, "cal/daily", "pod-b") is None
    assert without_lease(state, "cal/daily", "pod-a") == {
        "cal/daily": {"last": "2026-05-01T12:00:00Z"}
    }


def test_the_configmap_store_defaults_to_the_gateway_configmap() -> None:
    store = kube_state.ConfigMapStateStore(api=None, namespace="events")
    assert store._name(DAILY) == "cal"
    assert (
        kube_state.ConfigMapStateStore(None, "events", "calendar-state")._name(DAILY)
        == "calendar-state"
    )
