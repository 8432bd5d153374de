"""The reconciler with replicas: an exclusive source runs only while this replica owns it, is
on standby naming its owner otherwise, and stops (without an Event) when handed over. A fake
ownership stands in for the Leases: a unit test of the reconciler's own logic."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from gateways.kinds import SourceContext
from gateways.registry.kube import KubeRegistry
from gateways.registry.reconciler import Key, Reconciler
from gateways.registry.status import SourceStatus
from tests.core.runtime.test_reconciler import FakeKind, Log, RecordingSink, parse, snapshot

ME, OTHER = "replica-a", "replica-b"


class FakeOwnership:
    identity = ME

    def __init__(self) -> None:
        self.start_source: Callable[[Key], Awaitable[None]] | None = None
        self.stop_source: Callable[[Key, str], Awaitable[None]] | None = None
        self.on_holders: Callable[[], None] = lambda: None
        self.wanted: set[Key] = set()
        self.holders: dict[Key, str] = {}

    def want(self, keys: Iterable[Key]) -> None:
        self.wanted = set(keys)

    def owns(self, key: Key) -> bool:
        return self.holders.get(key) == ME

    def holder(self, key: Key) -> str:
        return self.holders.get(key, "")

    async def gain(self, key: Key) -> None:
        self.holders[key] = ME
        assert self.start_source is not None
        await self.start_source(key)

    async def lose(self, key: Key, to: str) -> None:
        del self.holders[key]
        assert self.stop_source is not None
        await self.stop_source(key, f"handed over to replica {to}")
        self.holders[key] = to
        self.on_holders()


def shown(reconciler: Reconciler) -> dict[str, tuple[str, str]]:
    return {s.name: (s.state, s.owner) for s in reconciler.status()}


async def test_exclusive_sources_run_only_while_owned() -> None:
    log, ownership = Log(), FakeOwnership()
    told: list[SourceStatus] = []
    reconciler = Reconciler(
        SourceContext(None),
        RecordingSink(),
        {"fake": FakeKind(log)},
        parse=parse,
        exclusive=lambda kind: kind == "fake",
        on_change=told.append,
    )
    reconciler.share(ownership)
    await reconciler.apply(snapshot({"a": {"n": 1}, "b": {"n": 1}}))
    assert ownership.wanted == {("gw", "a"), ("gw", "b")}
    assert shown(reconciler) == {"a": ("standby", ""), "b": ("standby", "")}
    assert log.calls == []

    await ownership.gain(("gw", "a"))
    ownership.holders[("gw", "b")] = OTHER
    ownership.on_holders()
    assert shown(reconciler) == {"a": ("running", ME), "b": ("standby", OTHER)}
    assert [call[:2] for call in log.calls] == [("start", "a")]

    await ownership.lose(("gw", "a"), OTHER)
    assert shown(reconciler) == {"a": ("standby", OTHER), "b": ("standby", OTHER)}
    assert [call[:2] for call in log.calls] == [("start", "a"), ("stop", "a")]
    assert "stopped" not in {status.state for status in told}  # a handover is not a stop

    await ownership.gain(("gw", "b"))
    await reconciler.apply(snapshot({"b": {"n": 2}}))  # changed while owned: restarted here
    assert shown(reconciler) == {"b": ("running", ME)}
    assert ownership.wanted == {("gw", "b")}
    await reconciler.close()


async def test_non_exclusive_sources_run_on_every_replica() -> None:
    log, ownership = Log(), FakeOwnership()
    reconciler = Reconciler(
        SourceContext(None),
        RecordingSink(),
        {"fake": FakeKind(log)},
        parse=parse,
        exclusive=lambda kind: False,
    )
    reconciler.share(ownership)
    await reconciler.apply(snapshot({"a": {"n": 1}}))
    assert ownership.wanted == set()
    assert shown(reconciler) == {"a": ("running", "")}
    await reconciler.close()


def test_only_the_owner_records_events() -> None:
    recorded: list[SourceStatus] = []
    registry = KubeRegistry("default", ["gw"], on_change=_ignore)

    class Recorder:
        def record(self, status: SourceStatus) -> None:
            recorded.append(status)

    registry.events = Recorder()  # type: ignore[assignment]
    registry.record_status(SourceStatus.now("gw", "a", "fake", "standby", owner=OTHER))
    registry.record_status(SourceStatus.now("gw", "a", "fake", "running", owner=ME))
    assert [status.state for status in recorded] == ["running"]


async def _ignore(*_: object) -> None:
    return None
