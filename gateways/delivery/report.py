"""What became of one event at each watcher: the answer a source acks or nacks on."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class WatcherOutcome:
    """One watcher's outcome.

    ``ok`` means the event is safe: the watcher accepted it (2xx), or it was dead-lettered
    (then ``dead_lettered`` is true and ``status``/``error`` tell why the watcher refused).
    ``status`` is the watcher's last HTTP status, None after a connection error or timeout.
    ``url`` carries no credentials or query string, so it is safe to log.
    """

    url: str
    ok: bool
    status: int | None
    attempts: int
    error: str | None = None
    dead_lettered: bool = False


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """Every watcher's outcome for the event ``event_id``."""

    event_id: str
    outcomes: tuple[WatcherOutcome, ...]

    @property
    def ok(self) -> bool:
        """True when every watcher accepted the event or it was dead-lettered for it."""
        return all(outcome.ok for outcome in self.outcomes)

    @property
    def dead_lettered(self) -> bool:
        return any(outcome.dead_lettered for outcome in self.outcomes)

    def failures(self) -> list[str]:
        """One line per watcher that neither accepted nor dead-lettered the event."""
        return [f"{o.url}: {o.error or 'not accepted'}" for o in self.outcomes if not o.ok]
