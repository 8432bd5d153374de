"""The shape every connection-holding source shares: a :class:`~gateways.supervisor.Supervisor`
runs its sessions with the config's ``backoff`` and tells the source's status to the process;
``stop`` ends the session that runs.

A kind subclasses :class:`SupervisedSource` and supplies ``kind``, ``where`` (the server, as
messages name it: credentials redacted) and ``session(connected)``; it may override
``prepare()`` (before the first session: read secrets, build client options, raising a
problem that names the field) and ``wind_down(supervisor)`` (the order of draining in-flight
messages and closing the connection on stop).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Generic, Protocol, TypeVar, cast

from gateways.config.common import Backoff
from gateways.kinds import SourceContext
from gateways.source import Emit, Origin
from gateways.supervisor import Supervisor, describe

STOP_GRACE = 5.0  # seconds in-flight deliveries get to finish on stop


class _WithBackoff(Protocol):
    @property
    def backoff(self) -> Backoff: ...


ConfigT = TypeVar("ConfigT")


class SupervisedSource(Generic[ConfigT]):
    kind: ClassVar[str]

    def __init__(
        self,
        origin: Origin,
        config: ConfigT,
        context: SourceContext,
        *,
        stop_grace: float = STOP_GRACE,
    ) -> None:
        self.origin = origin
        self.config = config
        self.context = context
        self.stop_grace = stop_grace
        self.label = f"{self.kind} {origin.gateway}/{origin.source}"
        self.stopping = False
        self._emit: Emit | None = None
        self._supervisor: Supervisor | None = None

    @property
    def where(self) -> str:
        """The server, as messages name it (credentials redacted); "" when it goes unsaid."""
        return ""

    @property
    def backoff(self) -> Backoff:
        """Between sessions: the config's ``backoff`` (every connection kind has one)."""
        return cast(_WithBackoff, self.config).backoff

    @property
    def emit(self) -> Emit:
        assert self._emit is not None, "the source has not started"
        return self._emit

    def describe(self, exc: BaseException) -> str:
        """A failure as the status's reason; kinds may use their client's own words."""
        return describe(exc)

    async def prepare(self) -> None:
        """Before the first session; raise (naming the field) when the config cannot work."""

    async def session(self, connected: Callable[[], None]) -> str | None:
        """Connect, call ``connected()`` once taking messages, run until the connection ends."""
        raise NotImplementedError

    async def wind_down(self, supervisor: Supervisor) -> None:
        """On stop: end the session (which lets its deliveries finish or hands them back)."""
        await supervisor.stop()

    async def start(self, emit: Emit) -> None:
        """Returns once the first session connected, or after a first failure a retry may
        cure (the source is then ``degraded`` and retries); raises a PermanentError naming
        the server when it refuses for good."""
        self._emit = emit
        await self.prepare()
        supervisor = Supervisor(
            self.label,
            self.backoff,
            self.session,
            self._report,
            describe=self.describe,
            where=self.where,
        )
        await supervisor.start()
        self._supervisor = supervisor

    async def stop(self) -> None:
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is None:
            return
        self.stopping = True
        await self.wind_down(supervisor)

    def _report(self, state: str, reason: str) -> None:
        if not self.stopping:  # a session ended by stop is not a failure
            self.context.on_status(self.origin, state, reason)
