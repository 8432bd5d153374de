"""The one helper module of the tests: free ports, waiting on conditions, registry files, an
in-process gateway, and the real delivery pipeline (Dispatcher -> Deliverer -> HTTP watcher)
that source tests emit into.

    async with Pipeline(watcher) as pipeline:
        await source.start(pipeline.emitter("mqtt"))
        await pipeline.wait_for_unique(1000)
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
import yaml

from gateways.config import ConfigError, parse_source
from gateways.delivery import Deliverer, DeliverySpec, Watcher
from gateways.dispatch import Dispatcher
from gateways.events.model import CloudEvent
from gateways.kinds import SourceContext
from gateways.registry.status import SourceStatus
from gateways.runtime import GatewayRuntime
from gateways.settings import Settings
from gateways.source import Emit, Origin
from tests.servicekit import free_port
from tests.watcher import RecordingWatcher, Reply


def unique(prefix: str) -> str:
    """A name no other test (or earlier run against the shared server) uses."""
    return f"{prefix}{uuid.uuid4().hex[:10]}"


async def wait_until(
    predicate: Callable[[], Any], timeout: float = 5.0, describe: Any = None, *args: Any
) -> None:
    """Wait until ``predicate()`` is true; TimeoutError (saying what there is) after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            shown = describe(*args) if callable(describe) else describe
            size = len(shown) if hasattr(shown, "__len__") else shown
            raise TimeoutError(f"condition not met within {timeout}s (have {size})")
        await asyncio.sleep(0.05)


async def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on 127.0.0.1:{port}") from None
            await asyncio.sleep(0.1)
            continue
        writer.close()
        await writer.wait_closed()
        return


def configmap(
    name: str,
    kind: str | None,
    sources: Mapping[str, Mapping[str, Any] | str],
    watchers: list[Any] | None = None,
    delivery: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A registry ConfigMap document; each source is a mapping (dumped to YAML) or YAML text."""
    metadata: dict[str, Any] = {"name": name}
    if kind:
        metadata["labels"] = {"gateways.dev/type": kind}
    annotations = {}
    if watchers is not None:
        annotations["gateways.dev/watchers"] = yaml.safe_dump(watchers)
    if delivery is not None:
        annotations["gateways.dev/delivery"] = yaml.safe_dump(dict(delivery))
    if annotations:
        metadata["annotations"] = annotations
    data = {
        key: value if isinstance(value, str) else yaml.safe_dump(dict(value))
        for key, value in sources.items()
    }
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data}


def write_registry(path: Path, *documents: Mapping[str, Any]) -> Path:
    path.write_text(yaml.safe_dump_all(list(documents), sort_keys=False))
    return path


async def start_gateway(registry: Path, tmp_path: Path, **options: Any) -> GatewayRuntime:
    """The embedded default over ``registry`` (webhook ports honoured), admin on a free port."""
    settings = Settings(
        registry_file=registry,
        state_dir=tmp_path / "state",
        admin_port=free_port(),
        **options,
    )
    runtime = GatewayRuntime(settings)
    await runtime.start()
    return runtime


def status_of(runtime: GatewayRuntime, name: str) -> SourceStatus:
    return next(s for s in runtime.reconciler.status() if s.name == name)


T = TypeVar("T")
# The project, and the shared reference data beside it (the seed era's examples, schemas).
ROOT = Path(__file__).resolve().parents[1]
REFERENCE_DATA = ROOT.parent / "shared" / "reference-data"
GATEWAY = "streams"
# No retries inside the deliverer: a watcher answering 503 makes emit raise at once, so the
# source's own at-least-once handling is what the tests exercise.
FAST_FAILING = DeliverySpec(retry=0, timeout=timedelta(seconds=5))


class Pipeline:
    def __init__(self, watcher: RecordingWatcher, spec: DeliverySpec = FAST_FAILING) -> None:
        self.watcher = watcher
        self.dispatcher = Dispatcher(default=Deliverer([Watcher(url=watcher.url)], spec))
        self.statuses: list[tuple[str, str]] = []
        self.context = SourceContext(settings=None, on_status=self._status)

    async def __aenter__(self) -> Pipeline:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.dispatcher.close()

    def origin(self, kind: str, source: str = "test") -> Origin:
        return Origin(GATEWAY, source, kind)

    def emitter(self, kind: str, source: str = "test") -> Emit:
        return self.dispatcher.emitter(self.origin(kind, source))

    def _status(self, origin: Origin, state: str, reason: str) -> None:
        self.statuses.append((state, reason))

    # ------------------------------------------------------------------ what the watcher saw

    def accepted(self) -> list[CloudEvent]:
        """Events the watcher answered 2xx, in arrival order (duplicates included)."""
        return [r.event for r in self.watcher.requests if r.event is not None and r.status < 300]

    def unique(self, key: Callable[[CloudEvent], Any] = lambda e: e.id) -> dict[Any, CloudEvent]:
        return {key(event): event for event in self.accepted()}

    async def wait_for_unique(
        self,
        count: int,
        key: Callable[[CloudEvent], Any] = lambda e: e.id,
        timeout: float = 30.0,
    ) -> dict[Any, CloudEvent]:
        await wait_until(lambda: len(self.unique(key)) >= count, timeout, self.unique, key)
        return self.unique(key)

    def refuse(self) -> None:
        """From now on the watcher answers 503, so every emit raises."""
        self.watcher.default = Reply(503)

    def accept(self) -> None:
        self.watcher.default = Reply(200)


def payload_number(event: CloudEvent) -> int:
    number: int = event.json()["n"]
    return number


def delivery_metrics(url: str) -> dict[str, float]:
    """The Prometheus delivery counters of one watcher URL (process-wide, so read a delta)."""
    from prometheus_client import REGISTRY

    found = {
        outcome: REGISTRY.get_sample_value(
            "gateways_watcher_deliveries_total", {"watcher": url, "outcome": outcome}
        )
        or 0.0
        for outcome in ("delivered", "failed", "dead_lettered")
    }
    found["retried"] = (
        REGISTRY.get_sample_value("gateways_watcher_retries_total", {"watcher": url}) or 0.0
    )
    return found


def parser(kind: str, schema: type[T]) -> Callable[[str], T]:
    """A config test's parser: ``<kind>/example`` from its YAML text, as the kind's schema."""

    def parse(text: str) -> T:
        config: Any = parse_source(kind, "example", text)
        assert isinstance(config, schema)
        return config

    return parse


def problem_lister(kind: str) -> Callable[[str], list[str]]:
    """Every problem found, each checked to name the source, without that ``kind/example: ``."""
    label = f"{kind}/example: "

    def problems(text: str) -> list[str]:
        with pytest.raises(ConfigError) as caught:
            parse_source(kind, "example", text)
        found = caught.value.problems
        assert all(problem.startswith(label) for problem in found), found
        return [problem.removeprefix(label) for problem in found]

    return problems


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate and key for 127.0.0.1 in ``folder``, made with openssl."""
    cert, key = folder / "tls.crt", folder / "tls.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


class GatewaysUp:
    """``gateways up --file REGISTRY`` in a process of its own, as a user starts it."""

    def __init__(self, registry: Path, *options: str) -> None:
        self.admin_port = free_port()
        self.arguments = ["up", "--file", str(registry), "--admin-port", str(self.admin_port)]
        self.arguments += options
        self.process: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> GatewaysUp:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "gateways", *self.arguments, cwd=ROOT, stdout=subprocess.DEVNULL
        )
        await wait_until_async(self._answers, timeout=30)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.terminate()
            await asyncio.wait_for(self.process.wait(), 30)

    async def sources(self) -> dict[str, dict[str, Any]]:
        """The status page's sources by name (empty when it does not answer)."""
        url = f"http://127.0.0.1:{self.admin_port}/status"
        try:
            async with aiohttp.ClientSession() as session, session.get(url) as response:
                page = await response.json()
        except (aiohttp.ClientError, OSError):
            return {}
        return {source["name"]: source for source in page["sources"]}

    async def _answers(self) -> bool:
        assert self.process is not None
        if self.process.returncode is not None:
            raise AssertionError(f"gateways up exited with {self.process.returncode}")
        return bool(await self.sources())


async def wait_until_async(
    condition: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05
) -> None:
    """Like wait_until, for a condition that is a coroutine function."""
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


class HandBuilt:
    """The tests of ``folder`` that need programs built by hand outside the project (the
    project commits no recipe for code it does not own): where those are missing, the tests are
    not collected, and the end of the run says how many were left out, under ``title``; they
    never count as passed. A conftest calls :meth:`deselect` and :meth:`summary` from its
    hooks; ``lines`` are figures its tests print there."""

    def __init__(self, folder: Path, title: str) -> None:
        self.folder = folder
        self.title = title
        self.lines: list[str] = []
        self._left_out: list[str] = []

    def deselect(self, config: pytest.Config, items: list[pytest.Item], missing: list[str]) -> None:
        if not missing:
            return
        ours = [item for item in items if Path(str(item.path)).is_relative_to(self.folder)]
        if ours:
            self._left_out.append(f"{len(ours)} tests not collected: no {', '.join(missing)}")
            config.hook.pytest_deselected(items=ours)
            items[:] = [item for item in items if item not in ours]

    def summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self._left_out or self.lines:
            terminalreporter.write_sep("-", self.title)
            for line in self._left_out + self.lines:
                terminalreporter.write_line(line)
