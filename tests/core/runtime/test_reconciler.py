"""The reconciler, table-driven over registry snapshots: add, change, remove, invalid, and
sources whose create or start raise anything. A fake kind and a recording sink stand in for
the real ones: this is a unit test of the reconciler's own logic."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
import yaml

from gateways.config.common import Backoff
from gateways.errors import ConfigError
from gateways.kinds import SourceContext
from gateways.registry.model import Entry, Gateway, gateway_from_configmap
from gateways.registry.reconciler import Reconciler
from gateways.source import Emit, Origin, RawEvent
from tests.kit import wait_until

FAST_RETRY = Backoff(timedelta(milliseconds=20), 1.0, 0.0, 0, timedelta(milliseconds=20))


@dataclass
class Log:
    """What the fake kind's sources did, in order: ("start"|"stop", name, config)."""

    calls: list[tuple[str, str, Any]] = field(default_factory=list)
    start_failures: dict[str, list[BaseException]] = field(default_factory=dict)


class FakeSource:
    def __init__(self, origin: Origin, config: Mapping[str, Any], context: SourceContext, log: Log):
        self.origin, self.config, self.context, self.log = origin, config, context, log
        if config.get("create") == "raise":
            raise KeyError("a bug in create")

    async def start(self, emit: Emit) -> None:
        self.log.calls.append(("start", self.origin.source, dict(self.config)))
        failures = self.log.start_failures.get(self.origin.source)
        if failures:
            raise failures.pop(0)
        if self.config.get("start") == "degraded":
            self.context.on_status(self.origin, "degraded", "broker down; retrying")
        await emit(RawEvent(b"hello"))

    async def stop(self) -> None:
        self.log.calls.append(("stop", self.origin.source, dict(self.config)))


@dataclass
class FakeKind:
    log: Log
    name: str = "fake"

    def create(self, origin: Origin, config: Any, context: SourceContext) -> FakeSource:
        return FakeSource(origin, config, context, self.log)


class RecordingSink:
    def __init__(self) -> None:
        self.emitted: list[tuple[Origin, bytes]] = []
        self.refuse: dict[str, str] = {}

    async def configure(self, gateway: Gateway) -> str:
        return self.refuse.get(gateway.name, "")

    async def forget(self, gateway: str) -> None:
        return None

    def emitter(self, origin: Origin) -> Emit:
        async def emit(raw: RawEvent) -> None:
            self.emitted.append((origin, raw.payload))

        return emit

    async def close(self) -> None:
        return None


def parse(entry: Entry) -> Any:
    value = yaml.safe_load(entry.value) or {}
    if "invalid" in value:
        raise ConfigError([f"{entry.label}: invalid: {value['invalid']}"])
    return value


def snapshot(sources: Mapping[str, Mapping[str, Any]], name: str = "gw") -> list[Gateway]:
    document = {
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": {"gateways.dev/type": "fake"}},
        "data": {key: yaml.safe_dump(dict(value)) for key, value in sources.items()},
    }
    return [gateway_from_configmap(document)]


def states(reconciler: Reconciler) -> dict[str, tuple[str, str]]:
    return {s.name: (s.state, s.reason) for s in reconciler.status()}


def make(log: Log, sink: RecordingSink | None = None) -> Reconciler:
    return Reconciler(
        SourceContext(None),
        sink or RecordingSink(),
        {"fake": FakeKind(log)},
        parse=parse,
        start_retry=FAST_RETRY,
    )


# (snapshots applied in turn, expected states after the last, expected start/stop calls)
CASES: dict[str, tuple[list[dict[str, dict[str, Any]]], dict[str, str], list[tuple[str, str]]]] = {
    "add": ([{}, {"a": {"n": 1}}], {"a": "running"}, [("start", "a")]),
    "unchanged is not restarted": (
        [{"a": {"n": 1}}, {"a": {"n": 1}}],
        {"a": "running"},
        [("start", "a")],
    ),
    "change restarts only that source": (
        [{"a": {"n": 1}, "b": {"n": 1}}, {"a": {"n": 2}, "b": {"n": 1}}],
        {"a": "running", "b": "running"},
        [("start", "a"), ("start", "b"), ("stop", "a"), ("start", "a")],
    ),
    "remove stops it and forgets its status": (
        [{"a": {"n": 1}, "b": {"n": 1}}, {"b": {"n": 1}}],
        {"b": "running"},
        [("start", "a"), ("start", "b"), ("stop", "a")],
    ),
    "invalid is rejected, the others run": (
        [{"a": {"invalid": "no"}, "b": {"n": 1}}],
        {"a": "rejected", "b": "running"},
        [("start", "b")],
    ),
    "invalid made valid starts": (
        [{"a": {"invalid": "no"}}, {"a": {"n": 1}}],
        {"a": "running"},
        [("start", "a")],
    ),
    "create raising anything fails only that source": (
        [{"a": {"create": "raise"}, "b": {"n": 1}}],
        {"a": "failed", "b": "running"},
        [("start", "b")],
    ),
    "degraded during start stays degraded": (
        [{"a": {"start": "degraded"}}],
        {"a": "degraded"},
        [("start", "a")],
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
async def test_reconciling(case: str) -> None:
    snapshots, expected, calls = CASES[case]
    log = Log()
    reconciler = make(log)
    for sources in snapshots:
        await reconciler.apply(snapshot(sources))
    assert {name: state for name, (state, _) in states(reconciler).items()} == expected
    assert [(what, name) for what, name, _ in log.calls] == calls
    await reconciler.close()


async def test_a_start_raising_anything_is_failed_with_the_reason_and_retried() -> None:
    log = Log(start_failures={"a": [RuntimeError("boom"), AttributeError("also a bug")]})
    sink = RecordingSink()
    reconciler = make(log, sink)
    await reconciler.apply(snapshot({"a": {"n": 1}, "b": {"n": 1}}))

    state, reason = states(reconciler)["a"]
    assert state == "failed"
    assert reason.startswith("fake/a: RuntimeError: boom; trying again in")
    assert states(reconciler)["b"] == ("running", "")  # added in the same edit, serving
    assert [origin.source for origin, _ in sink.emitted] == ["b"]

    await wait_until(lambda: states(reconciler)["a"][0] == "running", 2.0)
    assert [name for what, name, _ in log.calls if what == "start"].count("a") == 3
    await reconciler.close()


async def test_a_retry_is_dropped_when_the_source_is_removed() -> None:
    log = Log(start_failures={"a": [RuntimeError("boom")] * 100})
    reconciler = make(log)
    await reconciler.apply(snapshot({"a": {"n": 1}}))
    await reconciler.apply(snapshot({}))
    starts = len(log.calls)
    await asyncio.sleep(0.1)  # several retry periods: none may run
    assert len(log.calls) == starts and states(reconciler) == {}
    await reconciler.close()


async def test_a_gateway_the_sink_refuses_rejects_its_sources() -> None:
    log = Log()
    sink = RecordingSink()
    sink.refuse["gw"] = "configmap/gw: no watchers"
    reconciler = make(log, sink)
    await reconciler.apply(snapshot({"a": {"n": 1}}))
    assert states(reconciler) == {"a": ("rejected", "configmap/gw: no watchers")}
    assert log.calls == []
    await reconciler.close()


async def test_close_stops_everything() -> None:
    log = Log()
    reconciler = make(log)
    await reconciler.apply(snapshot({"a": {"n": 1}, "b": {"n": 2}}))
    await reconciler.close()
    assert sorted(name for what, name, _ in log.calls if what == "stop") == ["a", "b"]
    assert {state for state, _ in states(reconciler).values()} == {"stopped"}
